//! The project's API as a Rust client sees it: tenants (a workspace and its key, made with
//! the admin API), requests with `connect_core`'s request types, and checks of the
//! contract's error envelope.

use crate::{RequestBuilder, Response, Server};
use connect_core::server::admin::CreatedWorkspace;
use connect_core::wire::error::{ErrorCode, ErrorEnvelope};
use connect_core::wire::ids::WorkspaceId;
use serde::Serialize;

/// A workspace and its API key: what each test works in, so tests never see each other's
/// apps or share a rate limit.
pub struct Tenant<'a> {
    /// The server.
    pub server: &'a Server,
    /// The workspace.
    pub workspace: WorkspaceId,
    /// Its API key.
    pub key: String,
    /// The id of that key (for revocation).
    pub key_id: String,
}

/// A tenant's workspace and key without the server: kept across restarts, which need the
/// server to themselves.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The workspace.
    pub workspace: WorkspaceId,
    /// Its API key.
    pub key: String,
    /// The id of that key.
    pub key_id: String,
}

impl Credentials {
    /// The tenant these are the credentials of, on `server`.
    pub fn on<'a>(&self, server: &'a Server) -> Tenant<'a> {
        Tenant {
            server,
            workspace: self.workspace.clone(),
            key: self.key.clone(),
            key_id: self.key_id.clone(),
        }
    }
}

impl Server {
    /// A fresh workspace with its first key, through `POST /admin/v1/workspaces`.
    pub fn tenant(&self) -> Tenant<'_> {
        let res = self
            .post("/admin/v1/workspaces")
            .bearer(self.var("ADMIN_TOKEN"))
            .send();
        assert_eq!(res.status, 201, "create workspace: {}", res.text());
        let created: CreatedWorkspace = res.json();
        Tenant {
            server: self,
            workspace: created.workspace.id,
            key: created.api_key.key.expose().to_owned(),
            key_id: created.api_key.id.to_string(),
        }
    }
}

impl Tenant<'_> {
    /// Its workspace and key, to use again after a restart.
    pub fn credentials(&self) -> Credentials {
        Credentials {
            workspace: self.workspace.clone(),
            key: self.key.clone(),
            key_id: self.key_id.clone(),
        }
    }

    /// A request with this tenant's key.
    pub fn request(&self, method: &str, path: &str) -> RequestBuilder {
        self.server.request(method, path).bearer(&self.key)
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path).send()
    }

    /// `method path` with a JSON body.
    pub fn send_json<T: Serialize + ?Sized>(&self, method: &str, path: &str, body: &T) -> Response {
        self.request(method, path).json(body).send()
    }

    /// `POST /connect/v1/apps/batch` with an optional `Idempotency-Key`.
    pub fn batch<T: Serialize + ?Sized>(
        &self,
        body: &T,
        idempotency_key: Option<&str>,
    ) -> Response {
        let mut req = self.request("POST", "/connect/v1/apps/batch").json(body);
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        req.send()
    }

    /// `total` of the list: how many apps the workspace holds.
    pub fn total(&self) -> u64 {
        let res = self.get("/connect/v1/apps?limit=1");
        assert_eq!(res.status, 200, "{}", res.text());
        res.json_value()["total"].as_u64().expect("total")
    }
}

/// Checks `res` is the contract's error envelope with `status` and `code` (and
/// `details.parameter` when given), with `request_id` equal to `X-Request-Id`.
pub fn assert_error(
    res: &Response,
    status: u16,
    code: ErrorCode,
    parameter: Option<&str>,
) -> ErrorEnvelope {
    assert_eq!(res.status, status, "status of {}", res.text());
    assert_eq!(
        res.header("content-type"),
        Some("application/json"),
        "{}",
        res.text()
    );
    let env: ErrorEnvelope = res.json();
    assert_eq!(env.error.code, code, "{}", res.text());
    assert!(!env.error.message.is_empty());
    assert_eq!(
        res.header("x-request-id"),
        Some(env.request_id.as_str()),
        "request_id must repeat X-Request-Id"
    );
    assert_uuid(&env.request_id);
    if let Some(p) = parameter {
        let got = env
            .error
            .details
            .as_ref()
            .and_then(|d| d.parameter.as_deref());
        assert_eq!(got, Some(p), "parameter of {}", res.text());
    }
    env
}

/// Checks a lowercase hyphenated UUID.
pub fn assert_uuid(s: &str) {
    let parts: Vec<&str> = s.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12],
        "{s}"
    );
    assert!(
        s.bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{s}"
    );
}

/// Checks that no file of the server's stored state (local D1 and KV) holds `secret`.
pub fn assert_not_stored(server: &Server, secret: &str) {
    let found = server.state_files_containing(secret.as_bytes());
    assert!(
        found.is_empty(),
        "secret {}... stored in plain text in {found:?}",
        &secret[..12.min(secret.len())]
    );
}

/// Checks that no file of the server's stored state holds anything shaped like a secret in
/// plain text: `sh_app_` or `whsec_` followed by 64 lowercase hex digits.
pub fn assert_no_secret_shapes(server: &Server) {
    for prefix in [&b"sh_app_"[..], b"whsec_"] {
        let found = server.state_files_matching(|bytes| {
            bytes.windows(prefix.len() + 64).any(|w| {
                w.starts_with(prefix)
                    && w[prefix.len()..]
                        .iter()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            })
        });
        assert!(
            found.is_empty(),
            "plain-text {}... secrets stored in: {found:?}",
            String::from_utf8_lossy(prefix)
        );
    }
}

/// What a request cost D1, as its `Server-Timing` header reports it:
/// `d1;desc="round-trips=N rows-read=R rows-written=W"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct D1Costs {
    /// D1 calls made.
    pub round_trips: u64,
    /// Rows D1 read (its `meta.rows_read`, summed).
    pub rows_read: u64,
    /// Rows D1 wrote (its `meta.rows_written`, summed).
    pub rows_written: u64,
}

/// The D1 costs `res` reports; panics without a well-formed `d1` metric.
pub fn d1_costs(res: &Response) -> D1Costs {
    let timing = res
        .header("server-timing")
        .unwrap_or_else(|| panic!("no Server-Timing header: {}", res.text()));
    let desc = timing
        .split(',')
        .map(str::trim)
        .find_map(|metric| metric.strip_prefix("d1;desc=\""))
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("no d1 metric in Server-Timing: {timing}"));
    let figure = |name: &str| -> u64 {
        desc.split(' ')
            .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in Server-Timing: {timing}"))
    };
    D1Costs {
        round_trips: figure("round-trips"),
        rows_read: figure("rows-read"),
        rows_written: figure("rows-written"),
    }
}
