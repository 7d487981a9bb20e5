//! What a request may ask of an app, judged without the stored app: a new app
//! ([`NewApp`], from a create or a batch item). Each refusal names its parameter by path.
//!
//! How a judged request becomes an app, or changes one, is the server's business
//! (`connect_core::server::app`, feature `server`).

use crate::rules::input::Path;
use crate::rules::logo::Logo;
use crate::rules::name::AppName;
use crate::rules::redirect_uri::RedirectUris;
use crate::rules::webhook::WebhookSettings;
use crate::wire::error::FieldError;
use crate::wire::request::CreateAppRequest;

/// A validated request for a new app: every field of a create or a batch item, judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApp {
    pub(crate) name: AppName,
    pub(crate) logo: Option<Logo>,
    pub(crate) redirect_uris: RedirectUris,
    pub(crate) webhook: WebhookSettings,
}

impl NewApp {
    /// Judges a new app: the body of `POST /apps` (`path` is [`Path::Root`]) or a batch
    /// item's app (`path` is where the item sits, `items[3]`).
    pub fn validate(request: &CreateAppRequest, path: Path<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            name: AppName::parse(&request.name, path.field("name"))?,
            logo: request
                .logo
                .as_deref()
                .map(|l| Logo::parse(l, path.field("logo")))
                .transpose()?,
            redirect_uris: RedirectUris::parse(
                request.redirect_uris.as_deref().unwrap_or_default(),
                path.field("redirectUris"),
            )?,
            webhook: match &request.webhook_config {
                None => WebhookSettings::default(),
                Some(w) => WebhookSettings::default().merge(w, path.field("webhookConfig"))?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(body: serde_json::Value) -> CreateAppRequest {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn validation_names_fields_under_the_item_path() {
        let items = Path::Named("items");
        let e = NewApp::validate(&create(json!({ "name": "" })), items.index(7)).unwrap_err();
        assert_eq!(e.parameter, "items[7].name");
        let e = NewApp::validate(&create(json!({ "name": "a", "logo": "x" })), items.index(2))
            .unwrap_err();
        assert_eq!(e.parameter, "items[2].logo");
        let e = NewApp::validate(
            &create(json!({ "name": "a", "redirectUris": ["ftp://x"] })),
            Path::Root,
        )
        .unwrap_err();
        assert_eq!(e.parameter, "redirectUris[0]");
    }
}
