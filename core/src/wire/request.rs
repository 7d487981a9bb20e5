//! Raw request bodies: what a caller sends, typed but not yet validated.
//!
//! A Rust client builds and serializes these. The server reads them field by field, naming
//! the exact parameter of any type error or unknown field (`rules::bodies`), then turns
//! them into domain types that cannot hold a bad value (`rules::app::NewApp`).

use serde::{Deserialize, Serialize};

/// `Option<Option<T>>` on the wire: absent is `None`, `null` is `Some(None)`.
mod nullable {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// `webhookConfig` in a create, a batch item or a PATCH: every field optional, merged
/// onto the defaults (create) or the current config (update). `secret` can never be set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookConfigInput {
    /// The endpoint; `null` removes it (only while webhooks are disabled).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    pub url: Option<Option<String>>,
    /// Whether events are sent; `true` needs a `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// 0 to 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_attempts: Option<i64>,
    /// 1 to 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
    /// Event names to subscribe to; replaces the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
}

/// `POST /apps`: one app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAppRequest {
    /// Display name, 1 to 100 characters.
    pub name: String,
    /// Brand logo: a base64 `data:` URL of a PNG or SVG image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    /// Allowed OAuth redirect URIs (at most 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    /// Webhook settings, merged onto the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_config: Option<WebhookConfigInput>,
}

/// One item of `POST /apps/batch`: the fields of `POST /apps`, and the caller's own
/// reference for the item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItem {
    /// The app, as `POST /apps` takes it.
    #[serde(flatten)]
    pub app: CreateAppRequest,
    /// The caller's own reference for this item (at most 255 characters), echoed on its
    /// result. Not the HTTP `Idempotency-Key`, which covers the whole batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// `POST /apps/batch`: 1 to 100 items.
///
/// The server reads this body item by item (`rules::batch::plan`) so that with
/// `continueOnError: true` one malformed item fails alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchCreateRequest {
    /// The apps to create, 1 to 100.
    pub items: Vec<BatchItem>,
    /// `false` (default): all or nothing. `true`: each item on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continue_on_error: Option<bool>,
}

/// `PATCH /apps/{clientId}`: every field optional; send only what changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateAppRequest {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New brand logo; `null` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    pub logo: Option<Option<String>>,
    /// Replaces the whole list; `[]` clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    /// Merged onto the current webhook config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_config: Option<WebhookConfigInput>,
    /// Where to send the user after success; `null` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    pub default_success_redirect_uri: Option<Option<String>>,
    /// Where to send the user after failure or cancellation; `null` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    pub default_failure_redirect_uri: Option<Option<String>>,
}

/// `PUT /apps/{clientId}/redirect-uris`: the full replacement list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplaceRedirectUrisRequest {
    /// At most 20 URIs; `[]` clears the list.
    pub redirect_uris: Vec<String>,
}

/// `POST /admin/v1/api-keys/revoke`: an API key to revoke, by its text (as a secret
/// scanner reports a leaked one). `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeApiKeyRequest {
    /// The key: `sk_workspace_test_...` (`sk_workspace_prod_...` in production).
    pub key: String,
}

impl std::fmt::Debug for RevokeApiKeyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RevokeApiKeyRequest { key: [redacted] }")
    }
}
