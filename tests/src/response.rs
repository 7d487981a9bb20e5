//! [`Response`]: a parsed HTTP response, and the parser that reads one from the bytes
//! received (Content-Length, chunked or EOF-delimited bodies, interim responses).

use crate::bytes::find;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;

/// A parsed HTTP response.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    /// All header fields in order (names as sent; values lossily decoded as UTF-8).
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// The status line and header bytes exactly as received (up to the empty line).
    pub raw_head: Vec<u8>,
    /// Whether the body came with `Transfer-Encoding: chunked`.
    pub chunked: bool,
}

impl Response {
    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON into `T`; panics with the status and body when it does not parse.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not the expected JSON ({e}); status {}, body: {}",
                self.status,
                self.text()
            )
        })
    }

    /// The body as a JSON value; panics with the status and body when it is not JSON.
    pub fn json_value(&self) -> Value {
        self.json()
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text();
        let shown: String = text.chars().take(4000).collect();
        let more = if shown.len() < text.len() { "..." } else { "" };
        write!(f, "HTTP {} {}", self.status, self.reason)?;
        for (k, v) in &self.headers {
            write!(f, "\n{k}: {v}")?;
        }
        write!(f, "\n\n{shown}{more} ({} bytes)", self.body.len())
    }
}

pub(crate) enum Parsed {
    Incomplete,
    Complete(Response),
}

fn trim_ows(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| *c != b' ' && *c != b'\t')
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| *c != b' ' && *c != b'\t')
        .map_or(start, |e| e + 1);
    &b[start..end.max(start)]
}

/// Parses one response from `buf`. `eof`: nothing more will come (a body without length
/// ends here; a truncated message is an error).
pub(crate) fn parse_response(buf: &[u8], eof: bool, head_request: bool) -> Result<Parsed, String> {
    let mut start = 0;
    loop {
        let rest = &buf[start..];
        let Some(head_end) = find(rest, b"\r\n\r\n") else {
            return if eof {
                Err("connection closed before a complete response head".to_string())
            } else {
                Ok(Parsed::Incomplete)
            };
        };
        let head = &rest[..head_end];
        let body_start = head_end + 4;
        let mut lines = head
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, |&b| b == b' ');
        let version = parts.next().unwrap_or_default();
        if !version.starts_with(b"HTTP/") {
            return Err(format!(
                "bad status line {:?}",
                String::from_utf8_lossy(status_line)
            ));
        }
        let status: u16 = std::str::from_utf8(parts.next().unwrap_or_default())
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {:?}", String::from_utf8_lossy(status_line)))?;
        let reason = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        let mut headers = Vec::new();
        for line in lines {
            let colon = line
                .iter()
                .position(|&b| b == b':')
                .ok_or_else(|| format!("bad header line {:?}", String::from_utf8_lossy(line)))?;
            headers.push((
                String::from_utf8_lossy(trim_ows(&line[..colon])).into_owned(),
                String::from_utf8_lossy(trim_ows(&line[colon + 1..])).into_owned(),
            ));
        }
        if (100..200).contains(&status) && status != 101 {
            // Interim response (100 Continue, 103 Early Hints): the real one follows.
            start += body_start;
            continue;
        }
        let raw_head = rest[..body_start].to_vec();
        let rest_body = &rest[body_start..];
        let chunked = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("transfer-encoding")
                && v.to_ascii_lowercase().contains("chunked")
        });
        let content_length = match headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        {
            Some((_, v)) => Some(
                v.trim()
                    .parse::<usize>()
                    .map_err(|_| format!("bad Content-Length {v:?}"))?,
            ),
            None => None,
        };
        let no_body = head_request || status == 204 || status == 304 || status == 101;
        let body = if no_body {
            Vec::new()
        } else if chunked {
            match dechunk(rest_body, eof)? {
                Some(b) => b,
                None => return Ok(Parsed::Incomplete),
            }
        } else if let Some(n) = content_length {
            if rest_body.len() >= n {
                rest_body[..n].to_vec()
            } else if eof {
                return Err(format!(
                    "connection closed after {} of {n} body bytes",
                    rest_body.len()
                ));
            } else {
                return Ok(Parsed::Incomplete);
            }
        } else if eof {
            rest_body.to_vec()
        } else {
            return Ok(Parsed::Incomplete);
        };
        return Ok(Parsed::Complete(Response {
            status,
            reason,
            headers,
            body,
            raw_head,
            chunked: chunked && !no_body,
        }));
    }
}

/// De-chunks a chunked body: `Ok(None)` when more bytes are needed.
fn dechunk(data: &[u8], eof: bool) -> Result<Option<Vec<u8>>, String> {
    let more = || {
        if eof {
            Err("connection closed inside a chunked body".to_string())
        } else {
            Ok(None)
        }
    };
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let Some(le) = find(&data[pos..], b"\r\n") else {
            return more();
        };
        let line = &data[pos..pos + le];
        let size_part = line.split(|&b| b == b';').next().unwrap_or_default();
        let size_text = std::str::from_utf8(trim_ows(size_part)).unwrap_or("");
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size line {:?}", String::from_utf8_lossy(line)))?;
        pos += le + 2;
        if size == 0 {
            // Trailer fields, then the empty line.
            loop {
                let Some(le) = find(&data[pos..], b"\r\n") else {
                    return more();
                };
                pos += le + 2;
                if le == 0 {
                    return Ok(Some(out));
                }
            }
        }
        if data.len() < pos + size + 2 {
            return more();
        }
        out.extend_from_slice(&data[pos..pos + size]);
        if &data[pos + size..pos + size + 2] != b"\r\n" {
            return Err("chunk not followed by CRLF".to_string());
        }
        pos += size + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(buf: &[u8]) -> Response {
        match parse_response(buf, true, false).unwrap() {
            Parsed::Complete(r) => r,
            Parsed::Incomplete => panic!("incomplete"),
        }
    }

    #[test]
    fn parses_content_length_and_headers() {
        let raw = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 8\r\n\r\n{\"a\":1}\nEXTRA";
        let r = complete(raw);
        assert_eq!(r.status, 201);
        assert_eq!(r.reason, "Created");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header_all("SET-COOKIE"), vec!["a=1", "b=2"]);
        assert_eq!(r.body, b"{\"a\":1}\n");
        assert!(!r.chunked);
        // Complete before EOF as well.
        assert!(matches!(
            parse_response(raw, false, false),
            Ok(Parsed::Complete(_))
        ));
        assert!(matches!(
            parse_response(&raw[..raw.len() - 8], false, false),
            Ok(Parsed::Incomplete)
        ));
        assert!(parse_response(&raw[..raw.len() - 8], true, false).is_err());
    }

    #[test]
    fn dechunks_with_extensions_and_trailers() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n";
        let r = complete(raw);
        assert!(r.chunked);
        assert_eq!(r.text(), "helloabcdefghijklmnopqrstuvwxyz");
        for cut in 1..raw.len() {
            let partial = &raw[..cut];
            assert!(
                !matches!(
                    parse_response(partial, false, false),
                    Ok(Parsed::Complete(_))
                ),
                "complete after {cut} bytes"
            );
        }
    }

    #[test]
    fn eof_delimited_body_interim_responses_and_bodyless_statuses() {
        let r =
            complete(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil eof");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"until eof");
        let r = complete(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n");
        assert!(r.body.is_empty());
        match parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, true).unwrap()
        {
            Parsed::Complete(r) => assert!(r.body.is_empty()),
            Parsed::Incomplete => panic!("HEAD response has no body"),
        }
        assert!(parse_response(b"garbage\r\n\r\n", true, false).is_err());
    }

    #[test]
    #[should_panic(expected = "status 404, body: not json")]
    fn json_failure_shows_status_and_body() {
        let r = complete(b"HTTP/1.1 404 Not Found\r\nContent-Length: 8\r\n\r\nnot json");
        let _: Value = r.json();
    }
}
