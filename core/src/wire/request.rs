//! Raw request bodies: what a caller sends, typed but not judged. Any string fits in
//! them, an `http://` redirect URI or an empty name included.
//!
//! A Rust client builds and serializes these (they are `Serialize` only). Nothing reads
//! them with serde, which would accept, with nothing saying so, what the rules refuse:
//! the server reads a body with its own reader (`rules::bodies`, the `FromJson` trait),
//! which names the exact parameter of any type error or unknown field, then judges it into
//! a type that cannot hold a bad value, as a client does before sending (feature `rules`):
//!
//! | raw body | judged by |
//! |---|---|
//! | [`CreateAppRequest`], a [`BatchItem`]'s app | `rules::app::NewApp::validate` |
//! | [`BatchCreateRequest`] | `rules::batch::plan` (of its JSON) |
//! | [`UpdateAppRequest`] | `rules::app::AppPatch::validate` |
//! | [`ReplaceRedirectUrisRequest`] | `rules::redirect_uri::RedirectUris::validate` |
//! | [`WebhookConfigInput`] | `rules::webhook::WebhookPatch::validate` |
//! | [`RevokeApiKeyRequest`] | `RevokeApiKeyRequest::api_key` (`rules::api_key`) |

use serde::Serialize;

/// `Option<Option<T>>` on the wire: absent is `None` (the field is skipped), `null` is
/// `Some(None)`.
mod nullable {
    use serde::{Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }
}

/// Raw `webhookConfig` of a create, a batch item or a PATCH, and the body of `PATCH
/// /apps/{clientId}/webhook-config`: every field optional, merged onto the defaults
/// (create) or the current config (update). `secret` can never be set. Judged by
/// `rules::webhook::WebhookPatch::validate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookConfigInput {
    /// The endpoint; `null` removes it (only while webhooks are disabled).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "nullable::serialize"
    )]
    pub url: Option<Option<String>>,
    /// Whether events are sent; `true` needs a `url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// 0 to 10.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_attempts: Option<i64>,
    /// 1 to 30.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
    /// Event names to subscribe to; replaces the list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
}

/// Raw body of `POST /apps`: one app. Judged by `rules::app::NewApp::validate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateAppRequest {
    /// Display name, 1 to 100 characters.
    pub name: String,
    /// Brand logo: a base64 `data:` URL of a PNG or SVG image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    /// Allowed OAuth redirect URIs (at most 20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    /// Webhook settings, merged onto the defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_config: Option<WebhookConfigInput>,
}

/// Raw item of `POST /apps/batch`: the fields of `POST /apps`, and the caller's own
/// reference for the item. Judged by `rules::batch::judge_item` (of its JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItem {
    /// The app, as `POST /apps` takes it.
    #[serde(flatten)]
    pub app: CreateAppRequest,
    /// The caller's own reference for this item (at most 255 characters), echoed on its
    /// result. Not the HTTP `Idempotency-Key`, which covers the whole batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// Raw body of `POST /apps/batch`: 1 to 100 items.
///
/// The server reads this body item by item (`rules::batch::plan`) so that with
/// `continueOnError: true` one malformed item fails alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchCreateRequest {
    /// The apps to create, 1 to 100.
    pub items: Vec<BatchItem>,
    /// `false` (default): all or nothing. `true`: each item on its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continue_on_error: Option<bool>,
}

/// Raw body of `PATCH /apps/{clientId}`: every field optional; send only what changes.
/// Judged by `rules::app::AppPatch::validate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateAppRequest {
    /// New display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New brand logo; `null` removes it.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "nullable::serialize"
    )]
    pub logo: Option<Option<String>>,
    /// Replaces the whole list; `[]` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    /// Merged onto the current webhook config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_config: Option<WebhookConfigInput>,
    /// Where to send the user after success; `null` removes it.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "nullable::serialize"
    )]
    pub default_success_redirect_uri: Option<Option<String>>,
    /// Where to send the user after failure or cancellation; `null` removes it.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "nullable::serialize"
    )]
    pub default_failure_redirect_uri: Option<Option<String>>,
}

/// Raw body of `PUT /apps/{clientId}/redirect-uris`: the full replacement list. Judged by
/// `rules::redirect_uri::RedirectUris::validate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplaceRedirectUrisRequest {
    /// At most 20 URIs; `[]` clears the list.
    pub redirect_uris: Vec<String>,
}

/// Raw `POST /admin/v1/api-keys/revoke`: an API key to revoke, by its text (as a secret
/// scanner reports a leaked one). `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct RevokeApiKeyRequest {
    /// The key: `sk_workspace_test_...` (`sk_workspace_prod_...` in production).
    pub key: String,
}

impl std::fmt::Debug for RevokeApiKeyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RevokeApiKeyRequest { key: [redacted] }")
    }
}
