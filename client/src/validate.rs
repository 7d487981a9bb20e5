//! Requests judged before they are sent, by `connect_core`'s rules: the types the server
//! judges each body into, so a refusal has the code, message and parameter path the
//! server would have answered. This module holds no check of its own.
//!
//! What depends on the stored app (webhooks may be enabled only with a URL, which may be
//! the stored one) is left to the server.

use connect_core::rules::app::{AppPatch, NewApp};
use connect_core::rules::batch;
use connect_core::rules::idempotency::IdempotencyKey;
use connect_core::rules::input::Path;
use connect_core::rules::redirect_uri::RedirectUris;
use connect_core::rules::webhook::WebhookPatch;
use connect_core::wire::error::FieldError;
use connect_core::wire::request::{
    BatchCreateRequest, BatchItem, CreateAppRequest, ReplaceRedirectUrisRequest, UpdateAppRequest,
    WebhookConfigInput,
};
use serde::Serialize;
use serde_json::Value;

/// The JSON a request type is sent as.
fn json_of<T: Serialize>(body: &T) -> Value {
    serde_json::to_value(body).expect("request types always serialize")
}

/// `POST /apps`: what the server would refuse, if anything.
pub fn create(request: &CreateAppRequest) -> Result<(), FieldError> {
    NewApp::validate(request, Path::Root).map(drop)
}

/// `POST /apps/batch`: the error the server would answer for the whole request, if any.
/// Without `continueOnError` that is the first bad item (with its index); with it, bad
/// items are answered one by one in a 201, so only a malformed envelope (no items, more
/// than 100) is refused here. [`batch_item`] judges items one at a time.
pub fn batch(request: &BatchCreateRequest) -> Result<(), FieldError> {
    batch::plan(&json_of(request)).map(drop)
}

/// One batch item as the server judges it at `index`: the parameter is named by its path
/// in the batch (`items[3].name`).
pub fn batch_item(item: &BatchItem, index: usize) -> Result<(), FieldError> {
    batch::judge_item(&json_of(item), index).map(drop)
}

/// `PATCH /apps/{clientId}`: everything the server judges without the stored app.
pub fn update(request: &UpdateAppRequest) -> Result<(), FieldError> {
    AppPatch::validate(request).map(drop)
}

/// `PUT /apps/{clientId}/redirect-uris`.
pub fn replace_redirect_uris(request: &ReplaceRedirectUrisRequest) -> Result<(), FieldError> {
    RedirectUris::validate(request).map(drop)
}

/// `PATCH /apps/{clientId}/webhook-config`: everything the server judges without the
/// stored app (its fields are named bare: `url`, `retryAttempts`).
pub fn webhook_config(input: &WebhookConfigInput) -> Result<(), FieldError> {
    WebhookPatch::validate(input, "").map(drop)
}

/// An `Idempotency-Key` header value.
pub fn idempotency_key(key: &str) -> Result<(), FieldError> {
    IdempotencyKey::parse(key).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_core::wire::error::ErrorCode;

    fn app(name: &str, uri: &str) -> CreateAppRequest {
        CreateAppRequest {
            name: name.into(),
            logo: None,
            redirect_uris: Some(vec![uri.into()]),
            webhook_config: None,
        }
    }

    #[test]
    fn a_bad_item_is_named_as_the_server_names_it() {
        let items = vec![
            BatchItem {
                app: app("Acme", "https://acme.example.com/cb"),
                idempotency_key: None,
            },
            BatchItem {
                app: app("Beta", "javascript:alert(1)"),
                idempotency_key: Some("b".into()),
            },
        ];
        let all_or_nothing = BatchCreateRequest {
            items: items.clone(),
            continue_on_error: None,
        };
        let e = batch(&all_or_nothing).unwrap_err();
        assert_eq!(e.parameter, "items[1].redirectUris[0]");
        assert_eq!(e.index, Some(1));
        assert_eq!(e.code(), ErrorCode::ValidationInvalidParameter);
        assert_eq!(batch_item(&items[1], 1).unwrap_err(), e);
        let item_by_item = BatchCreateRequest {
            items,
            continue_on_error: Some(true),
        };
        assert_eq!(batch(&item_by_item), Ok(()));
        let empty = BatchCreateRequest {
            items: vec![],
            continue_on_error: Some(true),
        };
        assert_eq!(batch(&empty).unwrap_err().parameter, "items");
    }

    #[test]
    fn each_body_is_judged_by_its_route_rules() {
        assert_eq!(
            create(&app("  ", "https://a.example.com"))
                .unwrap_err()
                .parameter,
            "name"
        );
        assert_eq!(create(&app("Acme", "https://a.example.com/cb")), Ok(()));
        let patch = UpdateAppRequest {
            name: Some("x".repeat(101)),
            ..Default::default()
        };
        assert_eq!(update(&patch).unwrap_err().parameter, "name");
        let patch = UpdateAppRequest {
            default_failure_redirect_uri: Some(Some("ftp://a.example.com".into())),
            ..Default::default()
        };
        assert_eq!(
            update(&patch).unwrap_err().parameter,
            "defaultFailureRedirectUri"
        );
        let put = ReplaceRedirectUrisRequest {
            redirect_uris: vec!["https://a.example.com/cb#frag".into()],
        };
        assert_eq!(
            replace_redirect_uris(&put).unwrap_err().parameter,
            "redirectUris[0]"
        );
        let hook = WebhookConfigInput {
            retry_attempts: Some(3),
            url: Some(Some("http://".into())),
            ..Default::default()
        };
        assert_eq!(webhook_config(&hook).unwrap_err().parameter, "url");
        // Every value the server judges without the app, not only the URLs.
        let hook = WebhookConfigInput {
            retry_attempts: Some(11),
            ..Default::default()
        };
        assert_eq!(
            webhook_config(&hook).unwrap_err().parameter,
            "retryAttempts"
        );
        let hook = WebhookConfigInput {
            enabled: Some(true),
            url: Some(None),
            ..Default::default()
        };
        assert_eq!(webhook_config(&hook).unwrap_err().parameter, "url");
        let patch = UpdateAppRequest {
            webhook_config: Some(WebhookConfigInput {
                events: Some(vec!["verification.completed".into(); 51]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = update(&patch).unwrap_err();
        assert_eq!(
            (e.parameter.as_str(), e.max),
            ("webhookConfig.events", Some(50))
        );
        // Enabling without a URL depends on the stored app: the server judges it.
        let patch = UpdateAppRequest {
            webhook_config: Some(WebhookConfigInput {
                enabled: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(update(&patch), Ok(()));
        assert_eq!(
            idempotency_key("").unwrap_err().parameter,
            "Idempotency-Key"
        );
        assert_eq!(idempotency_key("import-1"), Ok(()));
    }
}
