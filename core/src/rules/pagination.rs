//! `GET /apps?limit&offset`: the page asked for, and the links to its neighbours.

use crate::rules::error::FieldError;
use crate::rules::input::printable;
use crate::wire::app::App;
use crate::wire::response::ListAppsResponse;

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
    /// A page request, if `limit` and `offset` are in range.
    pub fn new(limit: u32, offset: u64) -> Option<Self> {
        ((1..=MAX_LIMIT).contains(&limit) && offset <= MAX_OFFSET).then_some(Self { limit, offset })
    }

    /// Reads the query string (without `?`). Only `limit` and `offset` are known: another
    /// parameter is refused by name, as an unknown body field is, so `limt=5` is caught
    /// rather than silently giving 20. A parameter given twice is refused too.
    pub fn from_query(query: &str) -> Result<Self, FieldError> {
        let (mut limit, mut offset) = (None, None);
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "" => {
                    return Err(FieldError::invalid(
                        "query",
                        "has a parameter without a name",
                    ))
                }
                "limit" => &mut limit,
                "offset" => &mut offset,
                other => {
                    return Err(FieldError::invalid(
                        printable(other),
                        "is not a known query parameter (expected limit or offset)",
                    ))
                }
            };
            if slot.is_some() {
                return Err(FieldError::invalid(name, "must be given at most once"));
            }
            *slot = Some(value.into_owned());
        }
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(v) => parse_int(&v)
                .filter(|n| (1..=u64::from(MAX_LIMIT)).contains(n))
                .map(|n| n as u32)
                .ok_or_else(|| {
                    FieldError::invalid(
                        "limit",
                        format!("must be an integer from 1 to {MAX_LIMIT}"),
                    )
                    .with_max(u64::from(MAX_LIMIT))
                })?,
        };
        let offset = match offset {
            None => 0,
            Some(v) => parse_int(&v).filter(|n| *n <= MAX_OFFSET).ok_or_else(|| {
                FieldError::invalid("offset", "must be an integer of 0 or more")
                    .with_max(MAX_OFFSET)
            })?,
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

        #[test]
        fn any_query_parses_or_names_a_parameter(q in "[a-z=&%0-9+-]{0,30}") {
            if let Err(e) = PageRequest::from_query(&q) {
                prop_assert!(!e.parameter.is_empty());
            }
        }
    }
}
