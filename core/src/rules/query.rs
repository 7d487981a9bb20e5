//! Query strings: the parameters a route takes, and nothing else.
//!
//! Every route declares the query parameters it takes (`wire::routes::RouteSpec::query`);
//! the Worker reads every request's query with [`Query::parse`] before any handler runs,
//! so an unknown parameter (`limt=5`, `/admin/v1/shards?x=1`) is refused by name, as an
//! unknown body field is, rather than silently ignored, and a new route cannot forget it.

use crate::rules::input::printable;
use crate::wire::error::FieldError;

/// A query string read against the parameters a route takes: each known name at most
/// once, with its decoded value (`application/x-www-form-urlencoded`, as rust-url reads
/// it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Reads `query` (without `?`) for a route that takes the parameters `allowed`. The
    /// first parameter without a name (`=5`) is refused naming `query`; the first unknown
    /// or repeated one is refused by its name, written as a JSON string would write it
    /// (so a control or invisible character shows).
    pub fn parse(query: &str, allowed: &[&str]) -> Result<Self, FieldError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if name.is_empty() {
                return Err(FieldError::invalid(
                    "query",
                    "has a parameter without a name",
                ));
            }
            if !allowed.contains(&name.as_ref()) {
                return Err(FieldError::invalid(
                    printable(&name),
                    format!("is not a known query parameter ({})", expected(allowed)),
                ));
            }
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(FieldError::invalid(name, "must be given at most once"));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self { pairs })
    }

    /// The value of parameter `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What a refusal says the route takes.
fn expected(allowed: &[&str]) -> String {
    match allowed {
        [] => "this route takes none".to_owned(),
        [one] => format!("expected {one}"),
        [init @ .., last] => format!("expected {} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parsed(q: &str, allowed: &[&str]) -> Result<Vec<(String, String)>, String> {
        Query::parse(q, allowed)
            .map(|q| q.pairs)
            .map_err(|e| e.parameter)
    }

    #[test]
    fn a_route_takes_its_parameters_and_refuses_others_by_name() {
        let page = ["limit", "offset"];
        assert_eq!(
            parsed("limit=5&offset=%31", &page),
            Ok(vec![
                ("limit".into(), "5".into()),
                ("offset".into(), "1".into())
            ])
        );
        assert_eq!(parsed("", &[]), Ok(vec![]));
        assert_eq!(parsed("&", &[]), Ok(vec![]));
        for (q, allowed, parameter) in [
            ("x=1", &[][..], "x"),
            ("x", &[][..], "x"),
            ("limit=1", &[][..], "limit"),
            ("limt=5", &page[..], "limt"),
            ("limit=5&limit=6", &page[..], "limit"),
            ("=5", &page[..], "query"),
            ("limit=5&=1&x=2", &page[..], "query"),
            ("x=2&=1", &page[..], "x"),
            ("%0a=1", &page[..], "\\n"),
            ("%E2%80%8B=1", &page[..], "\\u200b"),
            ("%22=1", &[][..], "\\\""),
        ] {
            assert_eq!(parsed(q, allowed), Err(parameter.to_owned()), "{q}");
        }
    }

    #[test]
    fn a_refusal_says_what_the_route_takes() {
        let message = |allowed: &[&str]| Query::parse("x=1", allowed).unwrap_err().message;
        assert_eq!(
            message(&[]),
            "x is not a known query parameter (this route takes none)"
        );
        assert_eq!(
            message(&["limit"]),
            "x is not a known query parameter (expected limit)"
        );
        assert_eq!(
            message(&["limit", "offset"]),
            "x is not a known query parameter (expected limit or offset)"
        );
        assert_eq!(
            message(&["a", "b", "c"]),
            "x is not a known query parameter (expected a, b or c)"
        );
        let q = Query::parse("offset=3", &["limit", "offset"]).unwrap();
        assert_eq!((q.get("offset"), q.get("limit")), (Some("3"), None));
    }

    /// Names of the route's own, near misses and the empty name, and whether the route
    /// takes a page's parameters or none.
    fn names_and_route() -> impl Strategy<Value = (Vec<&'static str>, bool)> {
        (
            prop::collection::vec(
                prop::sample::select(vec!["limit", "offset", "x", "Limit", ""]),
                0..5,
            ),
            any::<bool>(),
        )
    }

    fn allowed(takes_paging: bool) -> &'static [&'static str] {
        if takes_paging {
            &["limit", "offset"]
        } else {
            &[]
        }
    }

    fn query_of(names: &[&str]) -> String {
        names
            .iter()
            .map(|n| format!("{n}=1"))
            .collect::<Vec<_>>()
            .join("&")
    }

    proptest! {
        /// Any query is accepted exactly when every name is the route's and none repeats,
        /// and is otherwise refused naming the first that is not (the empty name as
        /// `query`).
        #[test]
        fn only_the_routes_parameters_once_each_are_taken((names, paging) in names_and_route()) {
            let allowed = allowed(paging);
            let mut seen: Vec<&str> = Vec::new();
            let mut verdict = Ok(names.len());
            for n in &names {
                if n.is_empty() {
                    verdict = Err("query".to_owned());
                    break;
                }
                if !allowed.contains(n) || seen.contains(n) {
                    verdict = Err(n.to_string());
                    break;
                }
                seen.push(n);
            }
            let q = query_of(&names);
            prop_assert_eq!(parsed(&q, allowed).map(|p| p.len()), verdict, "{:?}", q);
        }
    }

    #[test]
    fn the_generator_reaches_both_sides() {
        crate::reach::assert_both_sides("route queries", names_and_route(), 0.2, |(n, p)| {
            Query::parse(&query_of(n), allowed(*p)).is_ok()
        });
    }
}
