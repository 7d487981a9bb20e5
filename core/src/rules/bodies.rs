//! How the server reads each request body: field by field, naming the exact parameter of
//! any type error or unknown field (see [`crate::rules::input`]), into the raw request
//! types of [`crate::wire::request`]. Reading checks the shape only: the values are
//! judged next, by the types of [`crate::rules::app`]. So a request a Rust caller builds
//! as a value (which has the right shape by construction) reads back as itself, and the
//! judgement of the value is the judgement of its JSON: what a client refuses before
//! sending is what the server would answer.

use crate::rules::input::{array_of, FromJson, Object, Path};
use crate::wire::error::FieldError;
use crate::wire::request::{
    BatchItem, CreateAppRequest, ReplaceRedirectUrisRequest, RevokeApiKeyRequest, UpdateAppRequest,
    WebhookConfigInput,
};
use serde_json::Value;

/// Longest per-item `idempotencyKey` of a batch, in characters.
pub const MAX_ITEM_KEY_CHARS: usize = 255;
/// Most entries in a `redirectUris` or `webhookConfig.events` list as sent: none but the
/// body's 1 MiB. The rules count a list when they judge it: redirect URIs after
/// duplicates are dropped (by `RedirectUris::parse`, at most 20, so 21 entries of which
/// one repeats another are 20 URIs), events as sent (at most 50).
const ANY_NUMBER: usize = usize::MAX;

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
            events: o.optional_array("events", ANY_NUMBER)?,
        })
    }
}

/// The fields of a new app, in `POST /apps` and in each batch item.
const NEW_APP_FIELDS: [&str; 4] = ["name", "logo", "redirectUris", "webhookConfig"];

/// The fields of a new app from `o`, whose other fields were checked already.
fn new_app_fields(o: &Object<'_>) -> Result<CreateAppRequest, FieldError> {
    Ok(CreateAppRequest {
        name: o.required("name")?,
        logo: o.optional("logo")?,
        redirect_uris: o.optional_array("redirectUris", ANY_NUMBER)?,
        webhook_config: o.optional("webhookConfig")?,
    })
}

impl FromJson for CreateAppRequest {
    fn read(value: &Value, path: Path<'_>) -> Result<Self, FieldError> {
        let o = Object::new(value, path)?;
        o.only(&NEW_APP_FIELDS)?;
        new_app_fields(&o)
    }
}

impl FromJson for BatchItem {
    fn read(value: &Value, path: Path<'_>) -> Result<Self, FieldError> {
        let o = Object::new(value, path)?;
        let [name, logo, uris, webhook] = NEW_APP_FIELDS;
        o.only(&[name, logo, uris, webhook, "idempotencyKey"])?;
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
            app: new_app_fields(&o)?,
            idempotency_key,
        })
    }
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
            "logo",
            "redirectUris",
            "webhookConfig",
            "defaultSuccessRedirectUri",
            "defaultFailureRedirectUri",
        ])?;
        Ok(Self {
            name: o.optional("name")?,
            logo: o.nullable("logo")?,
            redirect_uris: o.optional_array("redirectUris", ANY_NUMBER)?,
            webhook_config: o.optional("webhookConfig")?,
            default_success_redirect_uri: o.nullable("defaultSuccessRedirectUri")?,
            default_failure_redirect_uri: o.nullable("defaultFailureRedirectUri")?,
        })
    }
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
            redirect_uris: array_of(raw, path, ANY_NUMBER)?,
        })
    }
}

impl FromJson for RevokeApiKeyRequest {
    fn read(value: &Value, path: Path<'_>) -> Result<Self, FieldError> {
        let o = Object::new(value, path)?;
        o.only(&["key"])?;
        Ok(Self {
            key: o.required("key")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn a_body_read_is_written_back_as_it_was_sent() {
        let v = json!({
            "name": "Acme", "redirectUris": ["https://a.example/"],
            "webhookConfig": { "url": null, "enabled": false, "retryAttempts": 2 }
        });
        let read = CreateAppRequest::from_json(&v, "").unwrap();
        assert_eq!(read.webhook_config.as_ref().unwrap().url, Some(None));
        assert_eq!(serde_json::to_value(&read).unwrap(), v);

        let mut item = v.clone();
        item["idempotencyKey"] = json!("customer-001");
        let read = BatchItem::from_json(&item, "items[0]").unwrap();
        assert_eq!(read.app, CreateAppRequest::from_json(&v, "").unwrap());
        assert_eq!(serde_json::to_value(&read).unwrap(), item);
        // An unknown field of an item is refused by name (serde's flatten would let it by).
        item["nmae"] = json!("x");
        let e = BatchItem::from_json(&item, "items[0]").unwrap_err();
        assert_eq!(e.parameter, "items[0].nmae");
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
            (json!({ "name": "a", "logo": 5 }), "logo"),
            (json!({ "name": "a", "logo": null }), "logo"),
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
        let clear = UpdateAppRequest::from_json(&json!({ "logo": null }), "").unwrap();
        assert_eq!(clear.logo, Some(None));
    }

    #[test]
    fn redirect_uri_lists_are_read_whatever_their_length() {
        let uris = vec![json!("https://a.example/"); 10_000];
        let request =
            CreateAppRequest::from_json(&json!({ "name": "a", "redirectUris": uris }), "").unwrap();
        assert_eq!(request.redirect_uris.map(|u| u.len()), Some(10_000));
        let e =
            ReplaceRedirectUrisRequest::from_json(&json!({ "redirectUris": [1] }), "").unwrap_err();
        assert_eq!(e.parameter, "redirectUris[0]");
    }

    #[test]
    fn a_revocation_names_its_one_field() {
        let body = json!({ "key": "sk_workspace_test_x" });
        let read = RevokeApiKeyRequest::from_json(&body, "").unwrap();
        assert_eq!(serde_json::to_value(&read).unwrap(), body);
        for (body, parameter) in [
            (json!({}), "key"),
            (json!({ "key": null }), "key"),
            (json!({ "key": 5 }), "key"),
            (json!({ "key": ["sk_workspace_test_x"] }), "key"),
            (
                json!({ "key": "sk_workspace_test_x", "keyId": "key_1" }),
                "keyId",
            ),
            (json!("sk_workspace_test_x"), "body"),
        ] {
            let e = RevokeApiKeyRequest::from_json(&body, "").unwrap_err();
            assert_eq!(e.parameter, parameter, "{body}");
        }
        assert!(!format!("{read:?}").contains("sk_workspace"));
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

    /// Values a caller might put in a request's strings: valid and not, for every rule.
    fn text() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "Acme Corp",
            " Caf\u{e9} ",
            "",
            "a\u{200b}b",
            "https://a.example/cb",
            "HTTPS://A.example:0443/p?q",
            "http://x.example/",
            "http://localhost:8080/cb",
            "ftp://x",
            "data:image/png;base64,iVBORw0KGgo=",
            "data:image/gif;base64,R0lGOD",
            "verification.completed",
            "verification.nope",
        ])
        .prop_map(str::to_owned)
    }

    fn nullable() -> impl Strategy<Value = Option<Option<String>>> {
        prop::option::of(prop::option::of(text()))
    }

    fn webhook_input() -> impl Strategy<Value = WebhookConfigInput> {
        (
            nullable(),
            prop::option::of(any::<bool>()),
            prop::option::of(-2i64..40),
            prop::option::of(prop_oneof![-1i64..35, Just(i64::MAX)]),
            prop::option::of(prop::collection::vec(text(), 0..60)),
        )
            .prop_map(|(url, enabled, retry_attempts, timeout_seconds, events)| {
                WebhookConfigInput {
                    url,
                    enabled,
                    retry_attempts,
                    timeout_seconds,
                    events,
                }
            })
    }

    fn uris() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(text(), 0..25)
    }

    fn patch() -> impl Strategy<Value = UpdateAppRequest> {
        (
            prop::option::of(text()),
            nullable(),
            prop::option::of(uris()),
            prop::option::of(webhook_input()),
            nullable(),
            nullable(),
        )
            .prop_map(
                |(name, logo, redirect_uris, webhook_config, success, failure)| UpdateAppRequest {
                    name,
                    logo,
                    redirect_uris,
                    webhook_config,
                    default_success_redirect_uri: success,
                    default_failure_redirect_uri: failure,
                },
            )
    }

    fn create() -> impl Strategy<Value = CreateAppRequest> {
        (
            text(),
            prop::option::of(text()),
            prop::option::of(uris()),
            prop::option::of(webhook_input()),
        )
            .prop_map(
                |(name, logo, redirect_uris, webhook_config)| CreateAppRequest {
                    name,
                    logo,
                    redirect_uris,
                    webhook_config,
                },
            )
    }

    /// The JSON of `request`, read as the server reads a body.
    fn read_back<T: FromJson + serde::Serialize>(request: &T) -> Result<T, FieldError> {
        T::from_json(&serde_json::to_value(request).unwrap(), "")
    }

    #[test]
    fn the_request_generators_reach_both_sides() {
        use crate::rules::app::{AppPatch, NewApp};
        use crate::rules::webhook::WebhookPatch;
        crate::reach::assert_both_sides("patches", patch(), 0.1, |p| AppPatch::validate(p).is_ok());
        crate::reach::assert_both_sides("creates", create(), 0.1, |c| {
            NewApp::validate(c, Path::Root).is_ok()
        });
        crate::reach::assert_both_sides("webhook merges", webhook_input(), 0.1, |w| {
            WebhookPatch::validate(w, "").is_ok()
        });
    }

    proptest! {
        /// A request built as a value reads back as itself: the reader refuses no value of
        /// the right shape, so judging the value (as a client does before sending) and
        /// judging the body read from its JSON (as the server does) are one judgement.
        #[test]
        fn a_request_built_as_a_value_reads_back_as_itself(
            p in patch(),
            c in create(),
            w in webhook_input(),
            u in uris(),
        ) {
            prop_assert_eq!(read_back(&p), Ok(p));
            prop_assert_eq!(read_back(&c), Ok(c));
            prop_assert_eq!(read_back(&w), Ok(w));
            let put = ReplaceRedirectUrisRequest { redirect_uris: u };
            prop_assert_eq!(read_back(&put), Ok(put));
        }
    }
}
