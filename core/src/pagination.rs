//! `GET /apps?limit&offset`: the page asked for, and the links to its neighbours.

use crate::app::App;
use crate::error::FieldError;
use crate::input::printable;
use serde::{Deserialize, Serialize};

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
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = percent_decode(raw_name);
            let value = percent_decode(raw_value);
            let slot = match name.as_str() {
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
            *slot = Some(value);
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

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; a bad escape
/// stays as written (and then fails validation, as it should).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'+', _, _) => out.push(b' '),
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 2;
            }
            (c, _, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl ListAppsResponse {
    /// The JSON of a page whose apps are already serialized (see
    /// [`crate::stored::AppRow::app_json`]): the same bytes as serializing the response.
    pub fn json_from_parts(apps: &[String], total: u64, page: PageRequest) -> String {
        let mut out = String::with_capacity(apps.iter().map(|a| a.len() + 1).sum::<usize>() + 64);
        out.push_str("{\"data\":[");
        for (i, app) in apps.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(app);
        }
        out.push_str(&format!(
            "],\"total\":{total},\"limit\":{},\"offset\":{}}}",
            page.limit, page.offset
        ));
        out
    }
}

/// The 200 body of `GET /apps`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListAppsResponse {
    /// The page, oldest first (ties by `clientId`).
    pub data: Vec<App>,
    /// Apps in the workspace.
    pub total: u64,
    /// Page size applied.
    pub limit: u32,
    /// Offset applied.
    pub offset: u64,
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
            ("%0a=1", "\\u{a}"),
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

    #[test]
    fn a_page_from_serialized_apps_is_the_serialized_page() {
        use crate::{app::NewApp, entropy::SeededEntropy, ids::WorkspaceId, time::Timestamp};
        let ws = WorkspaceId::parse("org_page").unwrap();
        let mut e = SeededEntropy::new(5);
        let apps: Vec<_> = (0..3)
            .map(|i| {
                NewApp::validate(&format!("app {i}"), None, None, "")
                    .unwrap()
                    .mint(&ws, Timestamp::from_millis(i), &mut e)
                    .into_app()
            })
            .collect();
        let page = PageRequest::new(3, 7).unwrap();
        let parts: Vec<String> = apps
            .iter()
            .map(|a| serde_json::to_string(a).unwrap())
            .collect();
        let whole = ListAppsResponse {
            data: apps,
            total: 12,
            limit: 3,
            offset: 7,
        };
        assert_eq!(
            ListAppsResponse::json_from_parts(&parts, 12, page),
            serde_json::to_string(&whole).unwrap()
        );
        let empty = ListAppsResponse {
            data: vec![],
            total: 0,
            limit: 3,
            offset: 7,
        };
        assert_eq!(
            ListAppsResponse::json_from_parts(&[], 0, page),
            serde_json::to_string(&empty).unwrap()
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
