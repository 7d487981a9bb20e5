//! What a request may ask of an app, judged without the stored app, each refusal naming
//! its parameter by path:
//!
//! - a new app, from `POST /apps` or a batch item: [`NewApp`];
//! - a change, from `PATCH /apps/{clientId}`: [`AppPatch`];
//! - a new list of redirect URIs, from `PUT /apps/{clientId}/redirect-uris`:
//!   [`RedirectUris::validate`];
//! - a webhook-config merge, from `PATCH /apps/{clientId}/webhook-config` (and inside the
//!   two above): [`WebhookPatch`].
//!
//! These are the server's own judgements: the Worker refuses exactly what they refuse,
//! with the same code, message and parameter. The one rule that needs the stored app
//! (enabled webhooks need a URL, which may be the stored one) is applied with the change
//! by the server (`connect_core::server::app`, feature `server`), which also mints a new
//! app.

use crate::rules::input::Path;
use crate::rules::logo::Logo;
use crate::rules::name::AppName;
use crate::rules::redirect_uri::{RedirectUri, RedirectUris};
use crate::rules::webhook::{WebhookPatch, WebhookSettings};
use crate::wire::error::FieldError;
use crate::wire::request::{CreateAppRequest, UpdateAppRequest};

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

/// A judged `PATCH /apps/{clientId}`: every field it sets is valid. `name` and `logo`
/// replace (`logo: null` removes it), `redirectUris` replaces the list, `webhookConfig`
/// is merged, and the default redirect URIs are set or (with `null`) removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppPatch {
    pub(crate) name: Option<AppName>,
    pub(crate) logo: Option<Option<Logo>>,
    pub(crate) redirect_uris: Option<RedirectUris>,
    pub(crate) webhook: Option<WebhookPatch>,
    pub(crate) default_success_redirect_uri: Option<Option<RedirectUri>>,
    pub(crate) default_failure_redirect_uri: Option<Option<RedirectUri>>,
}

impl AppPatch {
    /// Judges a PATCH body, field by field in this order: `name`, `logo`, `redirectUris`,
    /// `webhookConfig`, `defaultSuccessRedirectUri`, `defaultFailureRedirectUri`.
    pub fn validate(request: &UpdateAppRequest) -> Result<Self, FieldError> {
        let default_uri = |value: &Option<Option<String>>, parameter: &str| {
            value
                .as_ref()
                .map(|uri| {
                    uri.as_deref()
                        .map(|uri| RedirectUri::parse(uri, parameter))
                        .transpose()
                })
                .transpose()
        };
        Ok(Self {
            name: request
                .name
                .as_deref()
                .map(|name| AppName::parse(name, "name"))
                .transpose()?,
            logo: request
                .logo
                .as_ref()
                .map(|logo| logo.as_deref().map(|l| Logo::parse(l, "logo")).transpose())
                .transpose()?,
            redirect_uris: request
                .redirect_uris
                .as_deref()
                .map(|uris| RedirectUris::parse(uris, "redirectUris"))
                .transpose()?,
            webhook: request
                .webhook_config
                .as_ref()
                .map(|input| WebhookPatch::validate(input, "webhookConfig"))
                .transpose()?,
            default_success_redirect_uri: default_uri(
                &request.default_success_redirect_uri,
                "defaultSuccessRedirectUri",
            )?,
            default_failure_redirect_uri: default_uri(
                &request.default_failure_redirect_uri,
                "defaultFailureRedirectUri",
            )?,
        })
    }

    /// The new name, if it sets one.
    pub fn name(&self) -> Option<&AppName> {
        self.name.as_ref()
    }

    /// The new logo (`Some(None)`: removes it), if it sets one.
    pub fn logo(&self) -> Option<Option<&Logo>> {
        self.logo.as_ref().map(Option::as_ref)
    }

    /// The new list of redirect URIs, if it sets one.
    pub fn redirect_uris(&self) -> Option<&RedirectUris> {
        self.redirect_uris.as_ref()
    }

    /// The change of the webhook config, if it makes one.
    pub fn webhook(&self) -> Option<&WebhookPatch> {
        self.webhook.as_ref()
    }

    /// The new `defaultSuccessRedirectUri` (`Some(None)`: removes it), if it sets one.
    pub fn default_success_redirect_uri(&self) -> Option<Option<&RedirectUri>> {
        self.default_success_redirect_uri
            .as_ref()
            .map(Option::as_ref)
    }

    /// The new `defaultFailureRedirectUri` (`Some(None)`: removes it), if it sets one.
    pub fn default_failure_redirect_uri(&self) -> Option<Option<&RedirectUri>> {
        self.default_failure_redirect_uri
            .as_ref()
            .map(Option::as_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::input::FromJson;
    use serde_json::json;

    fn create(body: serde_json::Value) -> CreateAppRequest {
        CreateAppRequest::from_json(&body, "").unwrap()
    }

    fn patch(body: serde_json::Value) -> UpdateAppRequest {
        UpdateAppRequest::from_json(&body, "").unwrap()
    }

    #[test]
    fn a_patch_is_judged_without_the_app_and_names_its_field() {
        for (body, parameter) in [
            (json!({ "name": "" }), "name"),
            (json!({ "logo": "https://a.example/logo.png" }), "logo"),
            (
                json!({ "redirectUris": ["http://x.example/"] }),
                "redirectUris[0]",
            ),
            (
                json!({ "webhookConfig": { "retryAttempts": 11 } }),
                "webhookConfig.retryAttempts",
            ),
            (
                json!({ "webhookConfig": { "enabled": true, "url": null } }),
                "webhookConfig.url",
            ),
            (
                json!({ "webhookConfig": { "events": vec!["verification.completed"; 51] } }),
                "webhookConfig.events",
            ),
            (
                json!({ "defaultFailureRedirectUri": "ftp://x" }),
                "defaultFailureRedirectUri",
            ),
            // The first field in the order of the body's rules is named.
            (
                json!({ "defaultSuccessRedirectUri": "ftp://x", "name": "" }),
                "name",
            ),
        ] {
            let e = AppPatch::validate(&patch(body.clone())).unwrap_err();
            assert_eq!(e.parameter, parameter, "{body}");
        }
        // Enabling without a URL in the patch depends on the stored app: judged with it.
        let p =
            AppPatch::validate(&patch(json!({ "webhookConfig": { "enabled": true } }))).unwrap();
        assert_eq!(p.webhook().and_then(WebhookPatch::enabled), Some(true));
        let p = AppPatch::validate(&patch(json!({
            "name": " Café ", "logo": null, "defaultSuccessRedirectUri": "HTTPS://A.example:0443/ok"
        })))
        .unwrap();
        assert_eq!(p.name().map(AppName::as_str), Some("Café"));
        assert_eq!(p.logo(), Some(None));
        assert_eq!(
            p.default_success_redirect_uri()
                .map(|u| u.map(RedirectUri::as_str)),
            Some(Some("https://a.example:443/ok"))
        );
        assert_eq!(
            (p.redirect_uris(), p.default_failure_redirect_uri()),
            (None, None)
        );
        assert_eq!(
            AppPatch::validate(&UpdateAppRequest::default()),
            Ok(AppPatch::default())
        );
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
