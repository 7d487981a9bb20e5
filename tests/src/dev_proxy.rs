//! What the harness does about `wrangler dev`'s proxy losing requests.
//!
//! `wrangler dev` (4.86) answers on a proxy Worker that fetches each request from the
//! Worker's runtime over pooled HTTP connections. kj closes a pooled connection idle for
//! 5 s from both ends, and a request written on it as it closes is lost
//! (cloudflare/workers-sdk#14641). On a busy machine the window is wide, since the proxy
//! learns late that a connection came back: beside two other test binaries and two busy
//! loops, 14 of 20 concurrent PATCHes of `contention.rs` were lost, and in CI 3 of 20
//! webhook-secret rotations. Such a request never reaches the Worker: of 11 creates sent
//! without an `Idempotency-Key` and lost so in two runs of that load, none was stored.
//!
//! The proxy then (`ProxyWorker.ts`, which takes every failed fetch for a restart of the
//! runtime):
//! - answers a request other than GET or HEAD with a 503 of its own ([`dropped`]); the
//!   harness sends the request again, as that answer asks and as every client of the API
//!   retries a 503;
//! - keeps a GET or HEAD to send again when the runtime restarts, which it never does: the
//!   request waits until another request reaches the proxy. A harness request waiting for
//!   its answer sends a request of its own to the proxy now and then ([`nudge`]).
//!
//! Production has no such proxy. The harness never sends a request of its own for `/`: a
//! lost request for `/` is the one the proxy reports to wrangler as an error of the
//! runtime (its URL compares equal), an error wrangler dev 4.86 exits on
//! (cloudflare/workers-sdk#15252).

use crate::response::Response;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The proxy's answer to a lost request other than GET or HEAD (with status 503 and
/// `Retry-After: 0`).
pub(crate) const DROPPED_TEXT: &str = "Your worker restarted mid-request. Please try sending the request again. Only GET or HEAD requests are retried automatically.";

/// How many times in all the harness sends a request while the proxy loses it.
pub(crate) const ATTEMPTS: usize = 5;

/// How long a GET or HEAD waits for the first byte of its answer before each [`nudge`].
pub(crate) const NUDGE_AFTER: Duration = Duration::from_secs(5);

/// The path of the harness's own requests: wait_ready's and the nudges. No Worker of the
/// tests routes it (the project's Worker answers 404), and it is not `/`.
pub(crate) const HARNESS_PATH: &str = "/.connect-e2e";

/// Whether `res` is the proxy's answer to a request it lost: 503, `Retry-After: 0` and
/// [`DROPPED_TEXT`] exactly. The Worker never answers so.
pub(crate) fn dropped(res: &Response) -> bool {
    res.status == 503
        && res.header("retry-after") == Some("0")
        && res.body == DROPPED_TEXT.as_bytes()
}

/// The bytes of the harness's own request to the server at `addr`: `GET HARNESS_PATH`.
pub(crate) fn harness_request(addr: SocketAddr) -> String {
    format!("GET {HARNESS_PATH} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
}

/// Sends [`harness_request`] to the proxy at `addr` from a thread of its own, its answer
/// read and dropped: the proxy then sends the GETs and HEADs it kept again.
pub(crate) fn nudge(addr: SocketAddr) {
    std::thread::spawn(move || {
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
            return;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
        if s.write_all(harness_request(addr).as_bytes()).is_ok() {
            let _ = s.read_to_end(&mut Vec::new());
        }
    });
}
