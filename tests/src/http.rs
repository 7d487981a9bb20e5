//! The raw HTTP/1.1 client: [`RequestBuilder`] sends whatever bytes it is given over one
//! connection and reads one [`Response`].

use crate::dev_proxy;
use crate::response::{parse_response, Parsed, Response};
use crate::turns::Turns;
use crate::Server;
use serde::Serialize;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Time limit of one HTTP request of the raw client.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

impl Server {
    /// A request to this server; `method` and `path` are sent as given (raw bytes allowed).
    pub fn request(&self, method: impl AsRef<[u8]>, path: impl AsRef<[u8]>) -> RequestBuilder {
        RequestBuilder {
            turns: Some(Arc::clone(&self.turns)),
            ..RequestBuilder::new(self.addr(), method, path)
        }
    }

    pub fn get(&self, path: impl AsRef<[u8]>) -> RequestBuilder {
        self.request("GET", path)
    }

    pub fn post(&self, path: impl AsRef<[u8]>) -> RequestBuilder {
        self.request("POST", path)
    }

    /// Sends `bytes` verbatim as the whole request; panics when no response comes back.
    pub fn send_raw(&self, bytes: impl AsRef<[u8]>) -> Response {
        self.try_send_raw(bytes).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Sends `bytes` verbatim; `Err` when the connection fails or closes without a
    /// complete response.
    pub fn try_send_raw(&self, bytes: impl AsRef<[u8]>) -> Result<Response, String> {
        let _turn = self.turns.request();
        exchange(self.addr(), bytes.as_ref(), false, false, REQUEST_TIMEOUT)
    }
}

/// A request under construction. Nothing is validated or escaped: what you put in is sent.
///
/// Sent as `METHOD SP PATH SP HTTP/1.1`, then `Host`, your headers in order, `Connection:
/// close`, and `Content-Length` when there is a body. `Host`, `Connection` and
/// `Content-Length` are left out when you set a header of that name yourself (also when you
/// set `Transfer-Encoding`, for `Content-Length`).
#[derive(Clone, Debug)]
pub struct RequestBuilder {
    addr: SocketAddr,
    /// The server's turns (`turns.rs`), for requests made by [`Server::request`].
    turns: Option<Arc<Turns>>,
    method: Vec<u8>,
    path: Vec<u8>,
    headers: Vec<Vec<u8>>,
    body: Option<Vec<u8>>,
    timeout: Duration,
}

impl RequestBuilder {
    pub fn new(addr: SocketAddr, method: impl AsRef<[u8]>, path: impl AsRef<[u8]>) -> Self {
        RequestBuilder {
            addr,
            turns: None,
            method: method.as_ref().to_vec(),
            path: path.as_ref().to_vec(),
            headers: Vec::new(),
            body: None,
            timeout: REQUEST_TIMEOUT,
        }
    }

    /// Adds `name: value` (raw bytes: control characters, non-UTF-8 all allowed).
    pub fn header(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        let mut line = name.as_ref().to_vec();
        line.extend_from_slice(b": ");
        line.extend_from_slice(value.as_ref());
        self.headers.push(line);
        self
    }

    /// Adds one header line exactly as given (CRLF appended).
    pub fn raw_header(mut self, line: impl AsRef<[u8]>) -> Self {
        self.headers.push(line.as_ref().to_vec());
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: impl AsRef<[u8]>) -> Self {
        let mut value = b"Bearer ".to_vec();
        value.extend_from_slice(token.as_ref());
        self.header("Authorization", value)
    }

    /// Serializes `value` as the body; sets `Content-Type: application/json` unless a
    /// content type was set before.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value).expect("serialize JSON body");
        let this = if self.has_header("content-type") {
            self
        } else {
            self.header("Content-Type", "application/json")
        };
        this.body(body)
    }

    /// The body, as bytes (sent with `Content-Length`).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Overrides the 60 s time limit.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers.iter().any(|line| {
            line.len() > name.len()
                && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
                && matches!(line[name.len()], b':' | b' ' | b'\t')
        })
    }

    /// The exact bytes [`RequestBuilder::send`] writes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.as_ref().map_or(0, Vec::len));
        out.extend_from_slice(&self.method);
        out.push(b' ');
        out.extend_from_slice(&self.path);
        out.extend_from_slice(b" HTTP/1.1\r\n");
        if !self.has_header("host") {
            out.extend_from_slice(format!("Host: {}\r\n", self.addr).as_bytes());
        }
        for line in &self.headers {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        if !self.has_header("connection") {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        if let Some(body) = &self.body {
            if !self.has_header("content-length") && !self.has_header("transfer-encoding") {
                out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
        if let Some(body) = &self.body {
            out.extend_from_slice(body);
        }
        out
    }

    /// Sends the request and reads the response; panics when there is none.
    pub fn send(self) -> Response {
        self.try_send().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Sends the request; `Err` when the connection fails or closes without a complete
    /// response (for hostile requests a server may just drop). Sent again, up to five
    /// times in all, while `wrangler dev`'s proxy answers that it lost the request on its
    /// way to the Worker (see the harness's `dev_proxy` module).
    pub fn try_send(self) -> Result<Response, String> {
        let _turn = self.turns.as_deref().map(Turns::request);
        let head = self.method.eq_ignore_ascii_case(b"HEAD");
        let nudge = head || self.method.eq_ignore_ascii_case(b"GET");
        let request = self.to_bytes();
        let what = || {
            format!(
                "{} {}",
                String::from_utf8_lossy(&self.method),
                String::from_utf8_lossy(&self.path)
            )
        };
        let mut attempt = 1;
        loop {
            let res = exchange(self.addr, &request, head, nudge, self.timeout)
                .map_err(|e| format!("{}: {e}", what()))?;
            if attempt == dev_proxy::ATTEMPTS || !dev_proxy::dropped(&res) {
                return Ok(res);
            }
            eprintln!(
                "connect-e2e: wrangler dev's proxy lost {} on its way to the Worker (attempt {attempt}); sending it again",
                what()
            );
            std::thread::sleep(Duration::from_millis(50 * attempt as u64));
            attempt += 1;
        }
    }
}

/// One connection: write `request`, read until the response is complete or EOF. With
/// `nudge` (a GET or HEAD), [`dev_proxy::nudge`] the server each time no byte of the
/// answer came for [`dev_proxy::NUDGE_AFTER`].
fn exchange(
    addr: SocketAddr,
    request: &[u8],
    head: bool,
    nudge: bool,
    timeout: Duration,
) -> Result<Response, String> {
    let deadline = Instant::now() + timeout;
    let mut next_nudge = Instant::now() + dev_proxy::NUDGE_AFTER;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    // A server may answer (e.g. 413) and close before reading a large body: note the
    // write error and still read what it sent.
    let write_error = stream.write_all(request).and_then(|_| stream.flush()).err();
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut next_parse = 0usize;
    let mut read_error = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "no complete response within {timeout:?} ({} bytes received: {:?})",
                buf.len(),
                String::from_utf8_lossy(&buf[..buf.len().min(2000)])
            ));
        }
        let nudging = nudge && buf.is_empty();
        if nudging && Instant::now() >= next_nudge {
            dev_proxy::nudge(addr);
            next_nudge += dev_proxy::NUDGE_AFTER;
        }
        let wait = if nudging {
            left.min(next_nudge.saturating_duration_since(Instant::now()))
        } else {
            left
        };
        stream
            .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                // Parse as soon as the socket is drained or after enough growth (re-parsing
                // a large response after every read would be quadratic). EOF comes anyway.
                if n < chunk.len() || buf.len() >= next_parse {
                    next_parse = buf.len() + buf.len() / 4;
                    if let Parsed::Complete(res) = parse_response(&buf, false, head)? {
                        let _ = stream.shutdown(Shutdown::Both);
                        return Ok(res);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
    }
    match parse_response(&buf, true, head) {
        Ok(Parsed::Complete(res)) => Ok(res),
        Ok(Parsed::Incomplete) => unreachable!("parse at EOF is never incomplete"),
        Err(e) => Err(format!(
            "{e} (write error: {write_error:?}, read error: {read_error:?}, {} bytes received: {:?})",
            buf.len(),
            String::from_utf8_lossy(&buf[..buf.len().min(2000)])
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::find;
    use std::net::TcpListener;

    /// A server answering one connection per response, in order: returns its address and a
    /// handle yielding the bytes of each request.
    fn fake_server_of(
        responses: Vec<Vec<u8>>,
        chunk_delay: bool,
    ) -> (SocketAddr, std::thread::JoinHandle<Vec<Vec<u8>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            responses
                .into_iter()
                .map(|response| {
                    let (mut s, _) = listener.accept().unwrap();
                    let req = read_request(&mut s);
                    if chunk_delay {
                        for piece in response.chunks(7) {
                            s.write_all(piece).unwrap();
                            s.flush().unwrap();
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    } else {
                        s.write_all(&response).unwrap();
                    }
                    req
                })
                .collect()
        });
        (addr, handle)
    }

    /// A one-shot server: returns its address and a handle yielding the request bytes.
    fn fake_server(
        response: Vec<u8>,
        chunk_delay: bool,
    ) -> (SocketAddr, std::thread::JoinHandle<Vec<u8>>) {
        let (addr, server) = fake_server_of(vec![response], chunk_delay);
        let handle = std::thread::spawn(move || server.join().unwrap().remove(0));
        (addr, handle)
    }

    /// The head, then Content-Length bytes.
    fn read_request(s: &mut TcpStream) -> Vec<u8> {
        let mut req = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            let n = s.read(&mut buf).unwrap();
            req.extend_from_slice(&buf[..n]);
            if let Some(h) = find(&req, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&req[..h]).to_ascii_lowercase();
                let cl = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                while req.len() < h + 4 + cl {
                    let n = s.read(&mut buf).unwrap();
                    assert!(n > 0);
                    req.extend_from_slice(&buf[..n]);
                }
                return req;
            }
            assert!(n > 0, "client closed early");
        }
    }

    /// The answer of wrangler dev's proxy to a request it dropped, with `body`.
    fn proxy_503(retry_after: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: {retry_after}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[test]
    fn a_request_the_dev_proxy_dropped_is_sent_again_and_nothing_else_is() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec();
        let dropped = proxy_503("0", dev_proxy::DROPPED_TEXT);
        let (addr, server) = fake_server_of(vec![dropped.clone(), dropped.clone(), ok], false);
        let res = RequestBuilder::new(addr, "PATCH", "/a").body("{}").send();
        assert_eq!((res.status, res.text().as_str()), (200, "ok"));
        let requests = server.join().unwrap();
        assert_eq!(requests.len(), 3);
        assert!(
            requests.iter().all(|r| r == &requests[0]),
            "the same bytes each time"
        );

        // Every attempt dropped: the last answer is given back.
        let (addr, server) = fake_server_of(vec![dropped; dev_proxy::ATTEMPTS], false);
        let res = RequestBuilder::new(addr, "POST", "/b").send();
        assert!(dev_proxy::dropped(&res));
        assert_eq!(server.join().unwrap().len(), dev_proxy::ATTEMPTS);

        // A 503 of anyone else (another text, another Retry-After) is an answer.
        for other in [
            proxy_503("1", dev_proxy::DROPPED_TEXT),
            proxy_503("0", "{\"error\":{\"code\":\"UNAVAILABLE\"}}"),
        ] {
            let (addr, server) = fake_server_of(vec![other.clone()], false);
            let res = RequestBuilder::new(addr, "POST", "/c").send();
            assert_eq!(res.status, 503);
            assert!(!dev_proxy::dropped(&res));
            assert_eq!(server.join().unwrap().len(), 1);
        }
    }

    #[test]
    fn sends_raw_bytes_and_reads_a_trickled_chunked_response() {
        let response =
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n".to_vec();
        let (addr, server) = fake_server(response, true);
        let res = RequestBuilder::new(addr, "FROB", b"/p\xff?q".as_slice())
            .header("X-Ctl", b"a\x01b\x7f".as_slice())
            .raw_header(b"Weird Line Without Colon".as_slice())
            .bearer("tok")
            .body(b"\xff\xfe".to_vec())
            .send();
        assert_eq!(res.status, 200);
        assert_eq!(res.body, b"abcdef");
        assert!(res.chunked);
        let req = server.join().unwrap();
        let mut expected = b"FROB /p\xff?q HTTP/1.1\r\n".to_vec();
        expected.extend_from_slice(format!("Host: {addr}\r\n").as_bytes());
        expected.extend_from_slice(b"X-Ctl: a\x01b\x7f\r\nWeird Line Without Colon\r\n");
        expected.extend_from_slice(b"Authorization: Bearer tok\r\nConnection: close\r\n");
        expected.extend_from_slice(b"Content-Length: 2\r\n\r\n\xff\xfe");
        assert_eq!(req, expected, "{:?}", String::from_utf8_lossy(&req));
    }

    #[test]
    fn json_sets_content_type_and_length_and_user_headers_win() {
        let (addr, server) = fake_server(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".to_vec(),
            false,
        );
        let res = RequestBuilder::new(addr, "POST", "/x")
            .header("host", "example.test")
            .header("connection", "keep-alive")
            .json(&serde_json::json!({"a": [1, 2]}))
            .send();
        assert_eq!(res.json_value(), serde_json::json!({}));
        let req = String::from_utf8(server.join().unwrap()).unwrap();
        assert_eq!(
            req,
            "POST /x HTTP/1.1\r\nhost: example.test\r\nconnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":[1,2]}"
        );
    }

    #[test]
    fn a_get_without_answer_nudges_the_server_until_it_answers() {
        // Like the proxy: the GET is answered once another request came in.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut get, _) = listener.accept().unwrap();
            let first = read_request(&mut get);
            let (mut nudge, _) = listener.accept().unwrap();
            let second = read_request(&mut nudge);
            nudge
                .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
            get.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
            (first, second)
        });
        let t0 = Instant::now();
        let res = RequestBuilder::new(addr, "GET", "/slow").send();
        assert_eq!(res.text(), "ok");
        assert!(t0.elapsed() >= dev_proxy::NUDGE_AFTER);
        let (first, second) = server.join().unwrap();
        assert!(first.starts_with(b"GET /slow "));
        let nudge = format!("GET {} HTTP/1.1\r\n", dev_proxy::HARNESS_PATH);
        assert!(second.starts_with(nudge.as_bytes()));
    }

    #[test]
    fn a_closed_connection_without_response_is_an_error() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let t = std::thread::spawn(move || drop(listener.accept().unwrap()));
        let err = RequestBuilder::new(addr, "GET", "/")
            .try_send()
            .unwrap_err();
        assert!(err.contains("before a complete response head"), "{err}");
        t.join().unwrap();
    }
}
