//! Raw request bodies: what a caller sends, typed but not yet validated.
//!
//! A Rust client builds and serializes these. The server reads them with [`FromJson`]
//! (which names the exact parameter of any type error or unknown field), then converts
//! them into domain types ([`crate::app::NewApp`], [`crate::webhook::WebhookSettings`],
//! [`crate::redirect_uri::RedirectUris`]) that cannot hold a bad value.

use crate::error::FieldError;
use crate::input::{array_of, FromJson, Object, Path};
use crate::redirect_uri::MAX_REDIRECT_URIS;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest per-item `idempotencyKey` of a batch, in characters.
pub const MAX_ITEM_KEY_CHARS: usize = 255;
/// Most entries in a `webhookConfig.events` list (there are 14 names; duplicates are
/// dropped, so a longer list can only be a mistake).
pub const MAX_EVENTS: usize = 50;

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

impl FromJson for WebhookConfigInput {
    fn read(value: &Value, path: Path<'_>) -> Result<Self, FieldError> {
        let o = Object::new(value, path)?;
        if o.raw("secret").is_some() {
            return Err(FieldError::invalid(
                o.path_of("secret"),
                "cannot be set: the signing secret is created by POST /apps/{clientId}/webhook-config/rotate-secret",
            ));
        }
        o.only(&[
            "url",
            "enabled",
            "retryAttempts",
            "timeoutSeconds",
            "events",
        ])?;
        Ok(Self {
            url: o.nullable("url")?,
            enabled: o.optional("enabled")?,
            retry_attempts: o.optional("retryAttempts")?,
            timeout_seconds: o.optional("timeoutSeconds")?,
            events: o.optional_array("events", MAX_EVENTS)?,
        })
    }
}

/// `POST /apps`: one app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAppRequest {
    /// Display name, 1 to 100 characters.
    pub name: String,
    /// Allowed OAuth redirect URIs (at most 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    /// Webhook settings, merged onto the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_config: Option<WebhookConfigInput>,
}

impl FromJson for CreateAppRequest {
    fn read(value: &Value, path: Path<'_>) -> Result<Self, FieldError> {
        let o = Object::new(value, path)?;
        o.only(&["name", "redirectUris", "webhookConfig"])?;
        Ok(Self {
            name: o.required("name")?,
            redirect_uris: o.optional_array("redirectUris", MAX_REDIRECT_URIS)?,
            webhook_config: o.optional("webhookConfig")?,
        })
    }
}

/// One item of `POST /apps/batch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchItem {
    /// Display name, 1 to 100 characters.
    pub name: String,
    /// Allowed OAuth redirect URIs (at most 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    /// Webhook settings, merged onto the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_config: Option<WebhookConfigInput>,
    /// The caller's own reference for this item (at most 255 characters), echoed on its
    /// result. Not the HTTP `Idempotency-Key`, which covers the whole batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

impl FromJson for BatchItem {
    fn read(value: &Value, path: Path<'_>) -> Result<Self, FieldError> {
        let o = Object::new(value, path)?;
        o.only(&["name", "redirectUris", "webhookConfig", "idempotencyKey"])?;
        let idempotency_key: Option<String> = o.optional("idempotencyKey")?;
        if let Some(key) = &idempotency_key {
            if key.chars().count() > MAX_ITEM_KEY_CHARS {
                return Err(FieldError::invalid(
                    o.path_of("idempotencyKey"),
                    format!("must be at most {MAX_ITEM_KEY_CHARS} characters"),
                )
                .with_max(MAX_ITEM_KEY_CHARS as u64));
            }
        }
        Ok(Self {
            name: o.required("name")?,
            redirect_uris: o.optional_array("redirectUris", MAX_REDIRECT_URIS)?,
            webhook_config: o.optional("webhookConfig")?,
            idempotency_key,
        })
    }
}

/// `POST /apps/batch`: 1 to 100 items.
///
/// The server reads this body item by item (see [`crate::batch::plan`]) so that with
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

impl FromJson for UpdateAppRequest {
    fn read(value: &Value, path: Path<'_>) -> Result<Self, FieldError> {
        let o = Object::new(value, path)?;
        if o.raw("clientId").is_some() {
            return Err(FieldError::invalid(
                o.path_of("clientId"),
                "cannot be changed",
            ));
        }
        if o.raw("clientSecret").is_some() {
            return Err(FieldError::invalid(
                o.path_of("clientSecret"),
                "cannot be set: rotate it with POST /apps/{clientId}/rotate-client-secret",
            ));
        }
        o.only(&[
            "name",
            "redirectUris",
            "webhookConfig",
            "defaultSuccessRedirectUri",
            "defaultFailureRedirectUri",
        ])?;
        Ok(Self {
            name: o.optional("name")?,
            redirect_uris: o.optional_array("redirectUris", MAX_REDIRECT_URIS)?,
            webhook_config: o.optional("webhookConfig")?,
            default_success_redirect_uri: o.nullable("defaultSuccessRedirectUri")?,
            default_failure_redirect_uri: o.nullable("defaultFailureRedirectUri")?,
        })
    }
}

/// `PUT /apps/{clientId}/redirect-uris`: the full replacement list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplaceRedirectUrisRequest {
    /// At most 20 URIs; `[]` clears the list.
    pub redirect_uris: Vec<String>,
}

impl FromJson for ReplaceRedirectUrisRequest {
    fn read(value: &Value, path: Path<'_>) -> Result<Self, FieldError> {
        let o = Object::new(value, path)?;
        o.only(&["redirectUris"])?;
        let path = o.path_of("redirectUris");
        let raw = o
            .raw("redirectUris")
            .ok_or_else(|| FieldError::missing(path))?;
        Ok(Self {
            redirect_uris: array_of(raw, path, MAX_REDIRECT_URIS)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serde_and_from_json_agree_on_valid_bodies() {
        let v = json!({
            "name": "Acme", "redirectUris": ["https://a.example/"],
            "webhookConfig": { "url": null, "enabled": false, "retryAttempts": 2 }
        });
        let by_serde: CreateAppRequest = serde_json::from_value(v.clone()).unwrap();
        let by_server = CreateAppRequest::from_json(&v, "").unwrap();
        assert_eq!(by_serde, by_server);
        assert_eq!(by_serde.webhook_config.as_ref().unwrap().url, Some(None));
        assert_eq!(serde_json::to_value(&by_serde).unwrap(), v);
    }

    #[test]
    fn the_server_names_the_parameter() {
        let cases = [
            (json!({}), "name"),
            (json!({ "name": 1 }), "name"),
            (json!({ "name": "a", "redirectURIs": [] }), "redirectURIs"),
            (
                json!({ "name": "a", "redirectUris": "https://a.example" }),
                "redirectUris",
            ),
            (
                json!({ "name": "a", "redirectUris": [1] }),
                "redirectUris[0]",
            ),
            (
                json!({ "name": "a", "webhookConfig": null }),
                "webhookConfig",
            ),
            (
                json!({ "name": "a", "webhookConfig": { "secret": "whsec_x" } }),
                "webhookConfig.secret",
            ),
            (
                json!({ "name": "a", "webhookConfig": { "retryAttempts": 1.5 } }),
                "webhookConfig.retryAttempts",
            ),
            (
                json!({ "name": "a", "webhookConfig": { "events": {} } }),
                "webhookConfig.events",
            ),
            (json!([]), "body"),
        ];
        for (body, parameter) in cases {
            let e = CreateAppRequest::from_json(&body, "").unwrap_err();
            assert_eq!(e.parameter, parameter, "{body}");
        }
    }

    #[test]
    fn immutable_fields_are_refused_in_a_patch() {
        for (body, parameter) in [
            (json!({ "clientId": "x" }), "clientId"),
            (json!({ "clientSecret": "x" }), "clientSecret"),
            (json!({ "nmae": "x" }), "nmae"),
        ] {
            assert_eq!(
                UpdateAppRequest::from_json(&body, "")
                    .unwrap_err()
                    .parameter,
                parameter
            );
        }
        let clear =
            UpdateAppRequest::from_json(&json!({ "defaultSuccessRedirectUri": null }), "").unwrap();
        assert_eq!(clear.default_success_redirect_uri, Some(None));
    }

    #[test]
    fn item_keys_are_capped() {
        let long = "k".repeat(256);
        let e = BatchItem::from_json(&json!({ "name": "a", "idempotencyKey": long }), "items[4]")
            .unwrap_err();
        assert_eq!(
            (e.parameter.as_str(), e.max),
            ("items[4].idempotencyKey", Some(255))
        );
    }
}
