//! `GET /apps?limit&offset` (and the operators' list of a workspace's API keys): the page
//! asked for, and the links to its neighbours.

use crate::rules::query::Query;
use crate::wire::app::App;
use crate::wire::error::FieldError;
use crate::wire::response::ListAppsResponse;
use crate::wire::routes::PAGE_QUERY;

/// Page size when none is given.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest page.
pub const MAX_LIMIT: u32 = 100;
/// Largest offset: the largest integer a JSON number holds exactly (2^53 - 1).
pub const MAX_OFFSET: u64 = (1 << 53) - 1;

/// A validated page request: `limit` 1 to 100 (default 20), `offset` 0 or more
/// (default 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    limit: u32,
    offset: u64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

impl PageRequest {
    /// A page request, if `limit` and `offset` are in range; else the error the API
    /// answers to such a query (naming `limit` or `offset`).
    pub fn new(limit: u32, offset: u64) -> Result<Self, FieldError> {
        Ok(Self {
            limit: checked_limit(Some(u64::from(limit)))?,
            offset: checked_offset(Some(offset))?,
        })
    }

    /// Reads the query string (without `?`). Only `limit` and `offset` are known: another
    /// parameter is refused by name, as an unknown body field is, so `limt=5` is caught
    /// rather than silently giving 20. A parameter given twice is refused too (see
    /// [`Query::parse`]).
    pub fn from_query(query: &str) -> Result<Self, FieldError> {
        Self::from_parameters(&Query::parse(query, PAGE_QUERY)?)
    }

    /// The page `query` asks for (a query read for a route that takes [`PAGE_QUERY`]).
    pub fn from_parameters(query: &Query) -> Result<Self, FieldError> {
        let (limit, offset) = (query.get("limit"), query.get("offset"));
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(v) => checked_limit(parse_int(v))?,
        };
        let offset = match offset {
            None => 0,
            Some(v) => checked_offset(parse_int(v))?,
        };
        Ok(Self { limit, offset })
    }

    /// Page size.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Items skipped.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The `Link` header value for a collection of `total` items at `path`: `rel="next"`
    /// while items remain after this page, `rel="prev"` when this page does not start at
    /// the beginning. From a page past the end, `prev` leads to the last full page.
    pub fn link_header(&self, path: &str, total: u64) -> Option<String> {
        let mut links = Vec::with_capacity(2);
        let limit = u64::from(self.limit);
        if self.offset.saturating_add(limit) < total {
            links.push(format!(
                "<{path}?limit={}&offset={}>; rel=\"next\"",
                self.limit,
                self.offset + limit
            ));
        }
        if self.offset > 0 {
            let prev = self.offset.min(total).saturating_sub(limit);
            links.push(format!(
                "<{path}?limit={}&offset={prev}>; rel=\"prev\"",
                self.limit
            ));
        }
        (!links.is_empty()).then(|| links.join(", "))
    }
}

/// A `limit` (`None`: not an integer) if it is 1 to [`MAX_LIMIT`].
fn checked_limit(n: Option<u64>) -> Result<u32, FieldError> {
    n.filter(|n| (1..=u64::from(MAX_LIMIT)).contains(n))
        .map(|n| n as u32)
        .ok_or_else(|| {
            FieldError::invalid("limit", format!("must be an integer from 1 to {MAX_LIMIT}"))
                .with_max(u64::from(MAX_LIMIT))
        })
}

/// An `offset` (`None`: not an integer) if it is 0 to [`MAX_OFFSET`].
fn checked_offset(n: Option<u64>) -> Result<u64, FieldError> {
    n.filter(|n| *n <= MAX_OFFSET).ok_or_else(|| {
        FieldError::invalid("offset", "must be an integer of 0 or more").with_max(MAX_OFFSET)
    })
}

fn parse_int(s: &str) -> Option<u64> {
    (!s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

impl PageRequest {
    /// The answer holding `data`, this page of a collection of `total` items.
    pub fn response(&self, data: Vec<App>, total: u64) -> ListAppsResponse {
        ListAppsResponse {
            data,
            total,
            limit: self.limit,
            offset: self.offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn page(q: &str) -> Result<(u32, u64), String> {
        PageRequest::from_query(q)
            .map(|p| (p.limit, p.offset))
            .map_err(|e| e.parameter)
    }

    #[test]
    fn a_page_request_gives_back_what_was_asked() {
        let p = PageRequest::from_query("offset=3&limit=7").unwrap();
        assert_eq!((p.limit(), p.offset()), (7, 3));
        let d = PageRequest::from_query("").unwrap();
        assert_eq!((d.limit(), d.offset()), (DEFAULT_LIMIT, 0));
        assert_eq!(d, PageRequest::default());
    }

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(page(""), Ok((20, 0)));
        assert_eq!(page("limit=100&offset=19900"), Ok((100, 19900)));
        assert_eq!(page("limit=1"), Ok((1, 0)));
        assert_eq!(page("offset=0&"), Ok((20, 0)));
        assert_eq!(page("limit=%35"), Ok((5, 0)));
        for (q, parameter) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=-1", "limit"),
            ("limit=2.5", "limit"),
            ("limit=", "limit"),
            ("limit=abc", "limit"),
            ("limit=+5", "limit"),
            ("limit=%2B5", "limit"),
            ("offset=%2B0", "offset"),
            ("limit=99999999999999999999999", "limit"),
            ("offset=-1", "offset"),
            ("offset=1e3", "offset"),
            ("offset=9007199254740992", "offset"),
            ("limt=5", "limt"),
            ("limit=5&limit=6", "limit"),
            ("=5", "query"),
            ("%0a=1", "\\n"),
            ("%E2%80%8B=1", "\\u200b"),
        ] {
            assert_eq!(page(q), Err(parameter.to_string()), "{q}");
        }
    }

    #[test]
    fn a_page_built_in_code_is_refused_as_its_query_would_be() {
        for (limit, offset, query) in [
            (0, 0, "limit=0"),
            (101, 0, "limit=101"),
            (20, MAX_OFFSET + 1, "offset=9007199254740992"),
        ] {
            assert_eq!(
                PageRequest::new(limit, offset),
                PageRequest::from_query(query),
                "{query}"
            );
        }
        assert_eq!(
            PageRequest::new(0, u64::MAX).unwrap_err().parameter,
            "limit"
        );
        assert_eq!(
            PageRequest::new(100, MAX_OFFSET).map(|p| p.offset()),
            Ok(MAX_OFFSET)
        );
    }

    #[test]
    fn links_point_at_existing_neighbours() {
        let p = |l, o| PageRequest::new(l, o).unwrap();
        let path = "/connect/v1/apps";
        assert_eq!(
            p(20, 0).link_header(path, 45).as_deref(),
            Some("</connect/v1/apps?limit=20&offset=20>; rel=\"next\"")
        );
        assert_eq!(
            p(20, 20).link_header(path, 45).as_deref(),
            Some("</connect/v1/apps?limit=20&offset=40>; rel=\"next\", </connect/v1/apps?limit=20&offset=0>; rel=\"prev\"")
        );
        assert_eq!(
            p(20, 40).link_header(path, 45).as_deref(),
            Some("</connect/v1/apps?limit=20&offset=20>; rel=\"prev\"")
        );
        assert_eq!(p(20, 0).link_header(path, 20), None);
        assert_eq!(p(20, 0).link_header(path, 0), None);
        assert_eq!(
            p(20, 100).link_header(path, 45).as_deref(),
            Some("</connect/v1/apps?limit=20&offset=25>; rel=\"prev\"")
        );
    }

    proptest! {
        #[test]
        fn following_next_visits_every_item_once(total in 0u64..500, limit in 1u32..=100) {
            let mut offset = 0;
            let mut seen = 0;
            loop {
                let p = PageRequest::new(limit, offset).unwrap();
                seen += (total.saturating_sub(offset)).min(u64::from(limit));
                let links = p.link_header("/x", total).unwrap_or_default();
                match links.split(", ").find(|l| l.ends_with("rel=\"next\"")) {
                    Some(next) => {
                        let q = next.trim_start_matches("</x?").split('>').next().unwrap();
                        offset = PageRequest::from_query(q).unwrap().offset();
                    }
                    None => break,
                }
            }
            prop_assert_eq!(seen, total);
        }

        /// A query is read exactly as its parameters say: the first nameless, unknown or
        /// repeated name is refused by name; then a `limit` outside 1 to 100 or an `offset`
        /// outside 0 to 2^53 - 1 (or not plain digits); otherwise the page asked for, with
        /// the defaults for what is missing.
        #[test]
        fn any_query_parses_or_names_a_parameter((q, verdict) in query_and_verdict()) {
            prop_assert_eq!(page(&q), verdict, "{:?}", q);
        }
    }

    /// A value and the number it stands for, if it is one: numbers around the bounds,
    /// and near misses (signs, decimals, exponents, spaces, letters, empty). `%35` is a
    /// percent-encoded `5`, `+5` a space and a `5`.
    fn value() -> impl Strategy<Value = (String, Option<u64>)> {
        prop_oneof![
            4 => prop_oneof![0u64..=120, Just(MAX_OFFSET), Just(MAX_OFFSET + 1), Just(u64::MAX)]
                .prop_map(|n| (n.to_string(), Some(n))),
            1 => prop::sample::select(vec![
                ("%35", Some(5)), ("007", Some(7)), ("", None), ("-1", None), ("+5", None), ("%2B5", None),
                ("2.5", None), ("1e2", None), ("abc", None), ("%205", None), ("5%20", None),
                ("99999999999999999999999", None),
            ]).prop_map(|(v, n)| (v.to_owned(), n)),
        ]
    }

    /// A query of `limit`, `offset` and now and then an unknown, nameless or repeated
    /// parameter, in any order, with what it must be read as: the page, or the
    /// parameter an error names.
    fn query_and_verdict() -> impl Strategy<Value = (String, Result<(u32, u64), String>)> {
        let name = prop_oneof![
            8 => prop::sample::select(vec!["limit", "offset"]),
            1 => prop::sample::select(vec!["limt", "Limit", "", "page"]),
        ];
        prop::collection::vec((name, value()), 0..4).prop_map(|params| {
            let q = params
                .iter()
                .map(|(n, (v, _))| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("&");
            let mut seen: Vec<&str> = Vec::new();
            let (mut limit, mut offset) = (None, None);
            for (n, (_, v)) in &params {
                match *n {
                    "" => return (q, Err("query".to_owned())),
                    "limit" | "offset" if seen.contains(n) => return (q, Err(n.to_string())),
                    "limit" => limit = Some(*v),
                    "offset" => offset = Some(*v),
                    other => return (q, Err(other.to_owned())),
                }
                seen.push(n);
            }
            let limit = match limit {
                None => 20,
                Some(Some(n @ 1..=100)) => n as u32,
                Some(_) => return (q, Err("limit".to_owned())),
            };
            let offset = match offset {
                None => 0,
                Some(Some(n)) if n <= MAX_OFFSET => n,
                Some(_) => return (q, Err("offset".to_owned())),
            };
            (q, Ok((limit, offset)))
        })
    }

    #[test]
    fn the_query_generator_reaches_both_sides() {
        crate::reach::assert_both_sides("queries", query_and_verdict(), 0.2, |(_, v)| v.is_ok());
    }
}
