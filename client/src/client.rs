//! The client and every route of the API.

use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::transport::{self, Call, Method, Transport};
use crate::validate;
use connect_core::rules::pagination::PageRequest;
use connect_core::wire::app::{
    App, DeletedApp, RedirectUrisResponse, RotatedClientSecret, RotatedWebhookSecret, WebhookConfig,
};
use connect_core::wire::error::ErrorCode;
use connect_core::wire::ids::ClientId;
use connect_core::wire::request::{
    BatchCreateRequest, CreateAppRequest, ReplaceRedirectUrisRequest, UpdateAppRequest,
    WebhookConfigInput,
};
use connect_core::wire::response::{BatchCreateResponse, ListAppsResponse, Workspace};
use connect_core::wire::routes::RouteName;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::time::Duration;
use url::Url;

/// A client of one workspace, by its API key. Cheap to clone; blocking.
#[derive(Clone)]
pub struct Client {
    base: Url,
    transport: Transport,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is never shown.
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("policy", &self.transport.policy)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`Client`].
pub struct ClientBuilder {
    base_url: String,
    api_key: String,
    policy: RetryPolicy,
    timeout: Duration,
}

impl ClientBuilder {
    /// How calls are retried (default: [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The longest one attempt may take, connection included (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The client, if the base URL is an http(s) URL and the key can go in a header.
    pub fn build(self) -> Result<Client, Error> {
        let mut base = Url::parse(&self.base_url)
            .map_err(|e| Error::Config(format!("the base URL {:?}: {e}", self.base_url)))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::Config(format!(
                "the base URL {:?} must be an http or https URL",
                self.base_url
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let key = self.api_key.trim();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Config(
                "the API key must be non-empty visible ASCII".into(),
            ));
        }
        Ok(Client {
            base,
            transport: Transport {
                agent: transport::agent(self.timeout),
                api_key: key.to_owned(),
                policy: self.policy,
                bookmark: Default::default(),
            },
        })
    }
}

impl Client {
    /// A client of the API at `base_url` (`https://api.example.com` or the local
    /// `http://127.0.0.1:8787`) with a workspace's `api_key`.
    pub fn builder(base_url: impl Into<String>, api_key: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            api_key: api_key.into(),
            policy: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
        }
    }

    /// The API's address as this client uses it: the base URL given to
    /// [`Client::builder`], parsed and ending in `/` (`http://127.0.0.1:8787/`), so two
    /// spellings of one address compare equal.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// The URL of a path of the route table (`/connect/v1/apps`), under the base URL and
    /// any path it has (`https://example.com/connect/` + `connect/v1/apps`).
    fn url(&self, path: &str) -> Url {
        self.base
            .join(path.trim_start_matches('/'))
            .expect("API paths are relative references")
    }

    /// The URL of a route without a parameter.
    fn route_url(&self, route: RouteName) -> Url {
        self.url(route.spec().path)
    }

    /// The URL of an app's route (`/connect/v1/apps/{clientId}...`).
    fn app_url(&self, route: RouteName, client_id: &ClientId) -> Url {
        self.url(&route.spec().path_with(client_id))
    }

    fn get<T: DeserializeOwned>(&self, url: Url) -> Result<T, Error> {
        self.transport.perform(&Call {
            method: Method::Get,
            url,
            body: None,
            idempotency_key: None,
        })
    }

    /// A POST with one `Idempotency-Key` (the caller's, or a fresh UUID) for every retry.
    fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        url: Url,
        body: Option<&B>,
        idempotency_key: Option<&str>,
    ) -> Result<T, Error> {
        let key = match idempotency_key {
            Some(key) => {
                validate::idempotency_key(key)?;
                key.to_owned()
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        self.transport.perform(&Call {
            method: Method::Post,
            url,
            body: body.map(to_json),
            idempotency_key: Some(key),
        })
    }

    /// A PUT or PATCH: idempotent by nature (a replacement, a merge), retried as is.
    fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: &B,
    ) -> Result<T, Error> {
        self.transport.perform(&Call {
            method,
            url,
            body: Some(to_json(body)),
            idempotency_key: None,
        })
    }

    /// `GET /workspace`: the workspace of the key, with its app count.
    pub fn workspace(&self) -> Result<Workspace, Error> {
        self.get(self.route_url(RouteName::Workspace))
    }

    /// `POST /apps`: one app. `idempotency_key` makes the call safe to repeat; without
    /// one, a fresh key still covers this call's own retries.
    pub fn create_app(
        &self,
        request: &CreateAppRequest,
        idempotency_key: Option<&str>,
    ) -> Result<App, Error> {
        validate::create(request)?;
        self.post(
            self.route_url(RouteName::Apps),
            Some(request),
            idempotency_key,
        )
    }

    /// `POST /apps/batch`: 1 to 100 apps in one transaction, performed once for all the
    /// retries of this call (and for any later call with the same `idempotency_key`
    /// within 24 hours, which replays the first answer).
    pub fn batch_create(
        &self,
        request: &BatchCreateRequest,
        idempotency_key: Option<&str>,
    ) -> Result<BatchCreateResponse, Error> {
        validate::batch(request)?;
        self.post(
            self.route_url(RouteName::AppsBatch),
            Some(request),
            idempotency_key,
        )
    }

    /// `GET /apps?limit&offset`: one page, in creation order.
    pub fn list_apps(&self, page: PageRequest) -> Result<ListAppsResponse, Error> {
        let mut url = self.route_url(RouteName::Apps);
        url.query_pairs_mut()
            .append_pair("limit", &page.limit().to_string())
            .append_pair("offset", &page.offset().to_string());
        self.get(url)
    }

    /// `GET /apps/{clientId}`.
    pub fn get_app(&self, client_id: &ClientId) -> Result<App, Error> {
        self.get(self.app_url(RouteName::App, client_id))
    }

    /// `PATCH /apps/{clientId}`: the fields given are replaced (`webhookConfig` merged).
    pub fn update_app(
        &self,
        client_id: &ClientId,
        request: &UpdateAppRequest,
    ) -> Result<App, Error> {
        validate::update(request)?;
        self.send(
            Method::Patch,
            self.app_url(RouteName::App, client_id),
            request,
        )
    }

    /// `DELETE /apps/{clientId}`. When an attempt went unanswered or failed with a `5xx`
    /// (the delete may have happened) and a retry then finds no such app, that is this
    /// call's delete: it succeeds. A first attempt that finds no app is
    /// `RESOURCE_NOT_FOUND`.
    pub fn delete_app(&self, client_id: &ClientId) -> Result<DeletedApp, Error> {
        let (result, in_doubt) = self.transport.perform_noting_doubt(&Call {
            method: Method::Delete,
            url: self.app_url(RouteName::App, client_id),
            body: None,
            idempotency_key: None,
        });
        match result {
            Err(e) if in_doubt && e.code() == Some(ErrorCode::ResourceNotFound) => Ok(DeletedApp {
                client_id: *client_id,
                deleted: true,
            }),
            other => other,
        }
    }

    /// `POST /apps/{clientId}/rotate-client-secret`: the old secret stops working at once.
    pub fn rotate_client_secret(
        &self,
        client_id: &ClientId,
        idempotency_key: Option<&str>,
    ) -> Result<RotatedClientSecret, Error> {
        self.post::<(), _>(
            self.app_url(RouteName::RotateClientSecret, client_id),
            None,
            idempotency_key,
        )
    }

    /// `GET /apps/{clientId}/redirect-uris`.
    pub fn redirect_uris(&self, client_id: &ClientId) -> Result<RedirectUrisResponse, Error> {
        self.get(self.app_url(RouteName::RedirectUris, client_id))
    }

    /// `PUT /apps/{clientId}/redirect-uris`: the whole list replaced.
    pub fn replace_redirect_uris(
        &self,
        client_id: &ClientId,
        request: &ReplaceRedirectUrisRequest,
    ) -> Result<RedirectUrisResponse, Error> {
        validate::replace_redirect_uris(request)?;
        self.send(
            Method::Put,
            self.app_url(RouteName::RedirectUris, client_id),
            request,
        )
    }

    /// `GET /apps/{clientId}/webhook-config` (the signing secret as a preview).
    pub fn webhook_config(&self, client_id: &ClientId) -> Result<WebhookConfig, Error> {
        self.get(self.app_url(RouteName::WebhookConfig, client_id))
    }

    /// `PATCH /apps/{clientId}/webhook-config`: a merge.
    pub fn update_webhook_config(
        &self,
        client_id: &ClientId,
        input: &WebhookConfigInput,
    ) -> Result<WebhookConfig, Error> {
        validate::webhook_config(input)?;
        self.send(
            Method::Patch,
            self.app_url(RouteName::WebhookConfig, client_id),
            input,
        )
    }

    /// `POST /apps/{clientId}/webhook-config/rotate-secret`: the only answer with the
    /// signing secret in full.
    pub fn rotate_webhook_secret(
        &self,
        client_id: &ClientId,
        idempotency_key: Option<&str>,
    ) -> Result<RotatedWebhookSecret, Error> {
        self.post::<(), _>(
            self.app_url(RouteName::RotateWebhookSecret, client_id),
            None,
            idempotency_key,
        )
    }
}

fn to_json<B: Serialize>(body: &B) -> String {
    serde_json::to_string(body).expect("request types always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_url_is_one_spelling_of_the_address() {
        let url = |base: &str| {
            Client::builder(base, "k")
                .build()
                .unwrap()
                .base_url()
                .to_owned()
        };
        assert_eq!(url("http://127.0.0.1:8787"), "http://127.0.0.1:8787/");
        assert_eq!(url("http://127.0.0.1:8787/"), "http://127.0.0.1:8787/");
        assert_eq!(
            url("HTTPS://API.Example.com:443"),
            "https://api.example.com/"
        );
        assert_eq!(
            url("https://example.com/connect"),
            "https://example.com/connect/"
        );
    }

    #[test]
    fn urls_are_the_route_tables_paths_under_the_base() {
        let id = ClientId::parse("HqTRDIYH").unwrap();
        let client = Client::builder("https://example.com/gateway", "k")
            .build()
            .unwrap();
        assert_eq!(
            client.app_url(RouteName::RotateClientSecret, &id).as_str(),
            "https://example.com/gateway/connect/v1/apps/HqTRDIYH/rotate-client-secret"
        );
        let client = Client::builder("http://127.0.0.1:8787", "k")
            .build()
            .unwrap();
        assert_eq!(
            client.route_url(RouteName::AppsBatch).as_str(),
            "http://127.0.0.1:8787/connect/v1/apps/batch"
        );
    }
}
