//! Requests judged before they are sent, by `connect_core`'s rules: the server's own
//! reader and checks, run on the JSON the client is about to send, so a refusal has the
//! code, message and parameter path the server would have answered.
//!
//! What depends on the stored app (a webhook may be enabled only with a URL, which may be
//! the stored one) is left to the server.

use connect_core::rules::app::NewApp;
use connect_core::rules::batch;
use connect_core::rules::idempotency::IdempotencyKey;
use connect_core::rules::input::{FromJson, Path};
use connect_core::rules::logo::Logo;
use connect_core::rules::name::AppName;
use connect_core::rules::redirect_uri::{RedirectUri, RedirectUris};
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
    let read = CreateAppRequest::from_json(&json_of(request), "")?;
    NewApp::validate(&read, Path::Root).map(drop)
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
    let items = Path::Named("items");
    let path = items.index(index);
    let read = BatchItem::from_json(&json_of(item), path)?;
    NewApp::validate(&read.app, path)
        .map(drop)
        .map_err(|e| e.at_index(index))
}

/// `PATCH /apps/{clientId}`: its shape, and each value the server judges without the
/// stored app (name, logo, redirect URIs, default redirect URIs).
pub fn update(request: &UpdateAppRequest) -> Result<(), FieldError> {
    let read = UpdateAppRequest::from_json(&json_of(request), "")?;
    if let Some(name) = &read.name {
        AppName::parse(name, "name")?;
    }
    if let Some(Some(logo)) = &read.logo {
        Logo::parse(logo, "logo")?;
    }
    if let Some(uris) = &read.redirect_uris {
        RedirectUris::parse(uris, "redirectUris")?;
    }
    if let Some(WebhookConfigInput {
        url: Some(Some(url)),
        ..
    }) = &read.webhook_config
    {
        RedirectUri::parse(url, "webhookConfig.url")?;
    }
    for (value, parameter) in [
        (
            &read.default_success_redirect_uri,
            "defaultSuccessRedirectUri",
        ),
        (
            &read.default_failure_redirect_uri,
            "defaultFailureRedirectUri",
        ),
    ] {
        if let Some(Some(uri)) = value {
            RedirectUri::parse(uri, parameter)?;
        }
    }
    Ok(())
}

/// `PUT /apps/{clientId}/redirect-uris`.
pub fn replace_redirect_uris(request: &ReplaceRedirectUrisRequest) -> Result<(), FieldError> {
    let read = ReplaceRedirectUrisRequest::from_json(&json_of(request), "")?;
    RedirectUris::parse(&read.redirect_uris, "redirectUris").map(drop)
}

/// `PATCH /apps/{clientId}/webhook-config`: its shape and its URL.
pub fn webhook_config(input: &WebhookConfigInput) -> Result<(), FieldError> {
    let read = WebhookConfigInput::from_json(&json_of(input), "")?;
    if let Some(Some(url)) = &read.url {
        RedirectUri::parse(url, "url")?;
    }
    Ok(())
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
        assert_eq!(
            idempotency_key("").unwrap_err().parameter,
            "Idempotency-Key"
        );
        assert_eq!(idempotency_key("import-1"), Ok(()));
    }
}
