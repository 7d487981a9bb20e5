//! The route table of the API: every path (as an OpenAPI-style template), the methods it
//! allows and the query parameters it takes. The Worker routes by it, its 405 answers list
//! its methods in `Allow`, it refuses any other query parameter before a handler runs, and
//! a test holds it equal to `openapi.json`, so a route cannot exist in one and not the
//! other. Paths are built from it too, by the Worker (`Location`) and by the Rust client:
//! `RouteName::App.spec().path_with(client_id)` is `/connect/v1/apps/HqTRDIYH`.

use std::fmt;

/// What a route is, whatever its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteName {
    /// `GET /connect/v1/openapi.json`, the only unauthenticated route.
    OpenApi,
    /// `/connect/v1/workspace`
    Workspace,
    /// `/connect/v1/apps`
    Apps,
    /// `/connect/v1/apps/batch`
    AppsBatch,
    /// `/connect/v1/apps/{clientId}`
    App,
    /// `/connect/v1/apps/{clientId}/rotate-client-secret`
    RotateClientSecret,
    /// `/connect/v1/apps/{clientId}/redirect-uris`
    RedirectUris,
    /// `/connect/v1/apps/{clientId}/webhook-config`
    WebhookConfig,
    /// `/connect/v1/apps/{clientId}/webhook-config/rotate-secret`
    RotateWebhookSecret,
    /// `/admin/v1/workspaces`
    AdminWorkspaces,
    /// `/admin/v1/workspaces/{workspaceId}/api-keys`
    AdminWorkspaceApiKeys,
    /// `/admin/v1/api-keys/revoke`
    AdminApiKeysRevoke,
    /// `/admin/v1/api-keys/{keyId}`
    AdminApiKey,
    /// `/admin/v1/secrets-keys`
    AdminSecretsKeys,
    /// `/admin/v1/secrets-keys/reseal`
    AdminSecretsKeysReseal,
    /// `/admin/v1/shards`
    AdminShards,
    /// `/admin/v1/health`
    AdminHealth,
}

impl RouteName {
    /// This route's entry in [`ROUTES`]. Every name has one: the Worker routes by the
    /// table and its dispatch handles every name.
    pub fn spec(self) -> &'static RouteSpec {
        ROUTES
            .iter()
            .find(|route| route.name == self)
            .unwrap_or_else(|| unreachable!("{self:?} has an entry in ROUTES"))
    }
}

/// One route: its name, path template and allowed methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    /// What it is.
    pub name: RouteName,
    /// The path, parameters in braces.
    pub path: &'static str,
    /// The methods it allows, in the order `Allow` lists them: `HEAD` right after `GET`
    /// wherever there is one (RFC 9110: a `HEAD` is the `GET` without its body).
    pub methods: &'static [&'static str],
    /// The query parameters its `GET` (and so its `HEAD`) takes; its other methods take
    /// none. Any other is refused by name before the handler runs.
    pub query: &'static [&'static str],
}

/// The query parameters of a page of a list (`rules::pagination::PageRequest`).
pub const PAGE_QUERY: &[&str] = &["limit", "offset"];

impl RouteSpec {
    /// The query parameters a request with `method` takes on this route.
    pub fn query_parameters(&self, method: &str) -> &'static [&'static str] {
        match method {
            "GET" | "HEAD" => self.query,
            _ => &[],
        }
    }

    /// The path of this route with its `{parameter}` filled in with `value`
    /// (`/connect/v1/apps/HqTRDIYH`); the path as it is for a route without one. `value`
    /// is written as it displays: pass an id (`ClientId`, `WorkspaceId`, `ApiKeyId`), whose
    /// characters need no escaping in a path.
    pub fn path_with(&self, value: impl fmt::Display) -> String {
        match (self.path.find('{'), self.path.find('}')) {
            (Some(open), Some(close)) => {
                format!("{}{value}{}", &self.path[..open], &self.path[close + 1..])
            }
            _ => self.path.to_owned(),
        }
    }

    /// Whether the route belongs to the operators' admin API.
    pub fn is_admin(&self) -> bool {
        self.path.starts_with("/admin/")
    }
}

/// The path of the apps collection: `Location` of a created app, `Link` of a list page.
pub const APPS_PATH: &str = "/connect/v1/apps";

/// Every route. Where two templates match a path, the first wins (`apps/batch` before
/// `apps/{clientId}`, `api-keys/revoke` before `api-keys/{keyId}`).
pub const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        name: RouteName::OpenApi,
        path: "/connect/v1/openapi.json",
        methods: &["GET", "HEAD"],
        query: &[],
    },
    RouteSpec {
        name: RouteName::Workspace,
        path: "/connect/v1/workspace",
        methods: &["GET", "HEAD"],
        query: &[],
    },
    RouteSpec {
        name: RouteName::Apps,
        path: APPS_PATH,
        methods: &["GET", "HEAD", "POST"],
        query: PAGE_QUERY,
    },
    RouteSpec {
        name: RouteName::AppsBatch,
        path: "/connect/v1/apps/batch",
        methods: &["POST"],
        query: &[],
    },
    RouteSpec {
        name: RouteName::App,
        path: "/connect/v1/apps/{clientId}",
        methods: &["GET", "HEAD", "PATCH", "DELETE"],
        query: &[],
    },
    RouteSpec {
        name: RouteName::RotateClientSecret,
        path: "/connect/v1/apps/{clientId}/rotate-client-secret",
        methods: &["POST"],
        query: &[],
    },
    RouteSpec {
        name: RouteName::RedirectUris,
        path: "/connect/v1/apps/{clientId}/redirect-uris",
        methods: &["GET", "HEAD", "PUT"],
        query: &[],
    },
    RouteSpec {
        name: RouteName::WebhookConfig,
        path: "/connect/v1/apps/{clientId}/webhook-config",
        methods: &["GET", "HEAD", "PATCH"],
        query: &[],
    },
    RouteSpec {
        name: RouteName::RotateWebhookSecret,
        path: "/connect/v1/apps/{clientId}/webhook-config/rotate-secret",
        methods: &["POST"],
        query: &[],
    },
    RouteSpec {
        name: RouteName::AdminWorkspaces,
        path: "/admin/v1/workspaces",
        methods: &["POST"],
        query: &[],
    },
    RouteSpec {
        name: RouteName::AdminWorkspaceApiKeys,
        path: "/admin/v1/workspaces/{workspaceId}/api-keys",
        methods: &["GET", "HEAD", "POST"],
        query: PAGE_QUERY,
    },
    RouteSpec {
        name: RouteName::AdminApiKeysRevoke,
        path: "/admin/v1/api-keys/revoke",
        methods: &["POST"],
        query: &[],
    },
    RouteSpec {
        name: RouteName::AdminApiKey,
        path: "/admin/v1/api-keys/{keyId}",
        methods: &["DELETE"],
        query: &[],
    },
    RouteSpec {
        name: RouteName::AdminSecretsKeys,
        path: "/admin/v1/secrets-keys",
        methods: &["GET", "HEAD"],
        query: &[],
    },
    RouteSpec {
        name: RouteName::AdminSecretsKeysReseal,
        path: "/admin/v1/secrets-keys/reseal",
        methods: &["POST"],
        query: &[],
    },
    RouteSpec {
        name: RouteName::AdminShards,
        path: "/admin/v1/shards",
        methods: &["GET", "HEAD"],
        query: &[],
    },
    RouteSpec {
        name: RouteName::AdminHealth,
        path: "/admin/v1/health",
        methods: &["GET", "HEAD"],
        query: &[],
    },
];

/// A path matched to its route, with the path parameter (every route has at most one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matched<'a> {
    /// The route.
    pub route: &'static RouteSpec,
    /// The value of its `{parameter}`, as sent (not yet validated), if it has one.
    pub param: Option<&'a str>,
}

/// The route of `path`, if any. A parameter matches any one non-empty segment; handlers
/// parse it (a malformed id is simply not found).
pub fn match_path(path: &str) -> Option<Matched<'_>> {
    ROUTES.iter().find_map(|route| {
        let mut param = None;
        let mut actual = path.split('/');
        for want in route.path.split('/') {
            let got = actual.next()?;
            if want.starts_with('{') {
                if got.is_empty() {
                    return None;
                }
                param = Some(got);
            } else if want != got {
                return None;
            }
        }
        actual.next().is_none().then_some(Matched { route, param })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(path: &str) -> Option<(RouteName, Option<&str>)> {
        match_path(path).map(|m| (m.route.name, m.param))
    }

    #[test]
    fn paths_match_their_routes() {
        assert_eq!(name("/connect/v1/apps"), Some((RouteName::Apps, None)));
        assert_eq!(
            name("/connect/v1/apps/batch"),
            Some((RouteName::AppsBatch, None))
        );
        assert_eq!(
            name("/connect/v1/apps/HqTRDIYH"),
            Some((RouteName::App, Some("HqTRDIYH")))
        );
        assert_eq!(
            name("/connect/v1/apps/x/webhook-config/rotate-secret"),
            Some((RouteName::RotateWebhookSecret, Some("x")))
        );
        assert_eq!(
            name("/admin/v1/workspaces/org_1/api-keys"),
            Some((RouteName::AdminWorkspaceApiKeys, Some("org_1")))
        );
        assert_eq!(
            name("/admin/v1/api-keys/revoke"),
            Some((RouteName::AdminApiKeysRevoke, None))
        );
        assert_eq!(
            name("/admin/v1/api-keys/key_1"),
            Some((RouteName::AdminApiKey, Some("key_1")))
        );
        for none in [
            "",
            "/",
            "/connect/v1/apps/",
            "/connect/v1/apps//redirect-uris",
            "/connect/v1/apps/a/b",
            "/connect/v1/Apps",
            "/connect/v1/apps/batch/x",
        ] {
            assert_eq!(name(none), None, "{none}");
        }
    }

    #[test]
    fn head_is_allowed_wherever_get_is() {
        for route in ROUTES {
            let get = route.methods.iter().position(|m| *m == "GET");
            let head = route.methods.iter().position(|m| *m == "HEAD");
            match get {
                Some(at) => assert_eq!(head, Some(at + 1), "{}", route.path),
                None => assert_eq!(head, None, "{}", route.path),
            }
        }
    }

    #[test]
    fn only_reads_take_query_parameters() {
        for route in ROUTES {
            assert_eq!(
                route.query_parameters("HEAD"),
                route.query,
                "{}",
                route.path
            );
            for method in route
                .methods
                .iter()
                .filter(|m| !["GET", "HEAD"].contains(m))
            {
                assert!(route.query_parameters(method).is_empty(), "{}", route.path);
            }
            if !route.methods.contains(&"GET") {
                assert!(route.query.is_empty(), "{} takes no GET", route.path);
            }
        }
        let takes = |name| ROUTES.iter().find(|r| r.name == name).unwrap().query;
        assert_eq!(takes(RouteName::Apps), PAGE_QUERY);
        assert_eq!(takes(RouteName::AdminWorkspaceApiKeys), PAGE_QUERY);
        assert!(takes(RouteName::AdminShards).is_empty());
    }

    #[test]
    fn paths_are_built_from_the_table() {
        assert_eq!(
            RouteName::App.spec().path_with("HqTRDIYH"),
            "/connect/v1/apps/HqTRDIYH"
        );
        assert_eq!(
            RouteName::RotateWebhookSecret.spec().path_with("HqTRDIYH"),
            "/connect/v1/apps/HqTRDIYH/webhook-config/rotate-secret"
        );
        assert_eq!(RouteName::Apps.spec().path_with("x"), APPS_PATH);
        for route in ROUTES {
            assert_eq!(route.name.spec(), route, "each name once");
        }
    }

    #[test]
    fn every_route_is_reachable_and_templates_are_unique() {
        for route in ROUTES {
            let param = match route.path.split('{').nth(1) {
                Some(p) if p.starts_with("workspaceId}") => "org_1",
                Some(p) if p.starts_with("keyId}") => "key_1",
                _ => "HqTRDIYH",
            };
            let concrete = route.path_with(param);
            assert_eq!(
                match_path(&concrete).map(|m| m.route),
                Some(route),
                "{}",
                route.path
            );
            assert!(!route.methods.is_empty());
        }
    }
}
