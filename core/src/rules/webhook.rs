//! Webhook configuration of an app: its rules and its merge.
//!
//! A change of the config, in a create, a PATCH of the app or on its own route, is judged
//! into a [`WebhookPatch`] without the stored app; applying it to the current
//! [`WebhookSettings`] adds the one rule that needs them: `enabled: true` needs a `url`,
//! which may be the one already set.

use crate::rules::input::{too_many, Path};
use crate::rules::redirect_uri::RedirectUri;
use crate::wire::app::{AppForm, WebhookConfig};
use crate::wire::error::FieldError;
use crate::wire::request::WebhookConfigInput;

/// `retryAttempts` range.
pub const RETRY_ATTEMPTS: std::ops::RangeInclusive<i64> = 0..=10;
/// `timeoutSeconds` range.
pub const TIMEOUT_SECONDS: std::ops::RangeInclusive<i64> = 1..=30;
/// Most entries in a `webhookConfig.events` list (there are 14 names; duplicates are
/// dropped, so a longer list can only be a mistake).
pub const MAX_EVENTS: usize = 50;

/// The event names an app can subscribe to: both generations the reference documents
/// (the dotted new set and the older one), as the contract asks.
pub const EVENTS: &[&str] = &[
    "verification.created",
    "verification.requested",
    "verification.workflow.started",
    "verification.user.authentication_started",
    "verification.user.authentication_succeeded",
    "verification.user.authentication_failed",
    "verification.completed",
    "verification.failed",
    "verification.workflow.cancelled",
    "verification.session.timed_out",
    "verification.initiated",
    "verification.awaiting_user_action",
    "verification.expired",
    "verification.cancelled",
];

/// Validated webhook settings: what an app stores (the signing secret is kept apart,
/// sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    url: Option<RedirectUri>,
    enabled: bool,
    retry_attempts: u8,
    timeout_seconds: u8,
    events: Vec<String>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            url: None,
            enabled: false,
            retry_attempts: 3,
            timeout_seconds: 10,
            events: Vec::new(),
        }
    }
}

/// A judged change of webhook settings: each field it sets is valid (the URL by the
/// redirect URI rules, the ranges, the event names, duplicates dropped), and it does not
/// both enable webhooks and remove the URL. Fields left out keep their values when it is
/// applied ([`WebhookSettings::apply`]), which checks that enabled settings have a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookPatch {
    url: Option<Option<RedirectUri>>,
    enabled: Option<bool>,
    retry_attempts: Option<u8>,
    timeout_seconds: Option<u8>,
    events: Option<Vec<String>>,
    /// How a refusal names the URL (`webhookConfig.url`, or `url` on the route).
    url_parameter: String,
}

impl WebhookPatch {
    /// Judges `input` without the current settings. `parameter` names the config object
    /// (`webhookConfig`, `items[2].webhookConfig`, or `""` on the webhook-config route,
    /// where fields are named bare: `retryAttempts`).
    pub fn validate<'p>(
        input: &WebhookConfigInput,
        parameter: impl Into<Path<'p>>,
    ) -> Result<Self, FieldError> {
        let parameter = parameter.into();
        let field = |name: &'static str| Path::Field(&parameter, name);
        let patch = Self {
            url: match &input.url {
                None => None,
                Some(None) => Some(None),
                Some(Some(url)) => Some(Some(RedirectUri::parse(url, field("url"))?)),
            },
            enabled: input.enabled,
            retry_attempts: input
                .retry_attempts
                .map(|n| in_range(n, RETRY_ATTEMPTS, field("retryAttempts")))
                .transpose()?,
            timeout_seconds: input
                .timeout_seconds
                .map(|n| in_range(n, TIMEOUT_SECONDS, field("timeoutSeconds")))
                .transpose()?,
            events: input
                .events
                .as_deref()
                .map(|events| events_of(events, field("events")))
                .transpose()?,
            url_parameter: field("url").to_string(),
        };
        if patch.enabled == Some(true) && patch.url == Some(None) {
            return Err(patch.url_required());
        }
        Ok(patch)
    }

    /// The URL it sets (`Some(None)`: removes it), if it sets one.
    pub fn url(&self) -> Option<Option<&RedirectUri>> {
        self.url.as_ref().map(Option::as_ref)
    }

    /// Whether it turns events on or off, if it does.
    pub fn enabled(&self) -> Option<bool> {
        self.enabled
    }

    /// The `retryAttempts` it sets, if it sets them.
    pub fn retry_attempts(&self) -> Option<u8> {
        self.retry_attempts
    }

    /// The `timeoutSeconds` it sets, if it sets them.
    pub fn timeout_seconds(&self) -> Option<u8> {
        self.timeout_seconds
    }

    /// The events it subscribes to (replacing the list), if it sets them.
    pub fn events(&self) -> Option<&[String]> {
        self.events.as_deref()
    }

    /// The refusal of enabled settings without a URL.
    fn url_required(&self) -> FieldError {
        FieldError::missing(&self.url_parameter).with_message(format!(
            "{} is required when webhooks are enabled",
            self.url_parameter
        ))
    }
}

impl WebhookSettings {
    /// These settings changed by `patch` (fields it leaves out keep their values); refused
    /// if they end up enabled without a URL.
    pub fn apply(&self, patch: &WebhookPatch) -> Result<Self, FieldError> {
        let mut next = self.clone();
        if let Some(url) = &patch.url {
            next.url = url.clone();
        }
        if let Some(enabled) = patch.enabled {
            next.enabled = enabled;
        }
        if let Some(n) = patch.retry_attempts {
            next.retry_attempts = n;
        }
        if let Some(n) = patch.timeout_seconds {
            next.timeout_seconds = n;
        }
        if let Some(events) = &patch.events {
            next.events = events.clone();
        }
        if next.enabled && next.url.is_none() {
            return Err(patch.url_required());
        }
        Ok(next)
    }

    /// Merges `input` onto these settings: [`WebhookPatch::validate`], then
    /// [`WebhookSettings::apply`]. `parameter` names the config object, as there.
    pub fn merge<'p>(
        &self,
        input: &WebhookConfigInput,
        parameter: impl Into<Path<'p>>,
    ) -> Result<Self, FieldError> {
        self.apply(&WebhookPatch::validate(input, parameter)?)
    }

    /// The settings as an app's config in form `F`, with `secret`.
    pub fn to_config<F: AppForm>(&self, secret: Option<F::WebhookSecret>) -> WebhookConfig<F> {
        WebhookConfig {
            url: self.url.as_ref().map(|u| u.as_str().to_owned()),
            enabled: self.enabled,
            retry_attempts: self.retry_attempts,
            timeout_seconds: self.timeout_seconds,
            events: self.events.clone(),
            secret,
        }
    }

    /// Reads back the settings of an app's config; `None` if they break a rule, which only
    /// a bug or a hand edit of the stored app could cause.
    pub fn from_config<F: AppForm>(config: &WebhookConfig<F>) -> Option<Self> {
        let input = WebhookConfigInput {
            url: Some(config.url.clone()),
            enabled: Some(config.enabled),
            retry_attempts: Some(config.retry_attempts.into()),
            timeout_seconds: Some(config.timeout_seconds.into()),
            events: Some(config.events.clone()),
        };
        Self::default().merge(&input, "webhookConfig").ok()
    }
}

fn in_range(
    n: i64,
    range: std::ops::RangeInclusive<i64>,
    parameter: Path<'_>,
) -> Result<u8, FieldError> {
    if range.contains(&n) {
        Ok(n as u8)
    } else {
        Err(FieldError::invalid(
            parameter,
            format!(
                "must be an integer from {} to {}",
                range.start(),
                range.end()
            ),
        )
        .with_max(*range.end() as u64))
    }
}

/// Known event names, at most [`MAX_EVENTS`] of them, duplicates dropped keeping the
/// first.
fn events_of(events: &[String], parameter: Path<'_>) -> Result<Vec<String>, FieldError> {
    if events.len() > MAX_EVENTS {
        return Err(too_many(parameter, MAX_EVENTS));
    }
    let mut out: Vec<String> = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        if !EVENTS.contains(&e.as_str()) {
            return Err(FieldError::invalid(
                parameter.index(i),
                "is not a known event name (see the API reference for the list)",
            ));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::app::Shown;

    fn input() -> WebhookConfigInput {
        WebhookConfigInput::default()
    }

    #[test]
    fn default_is_the_contract_default() {
        let shown =
            serde_json::to_value(WebhookSettings::default().to_config::<Shown>(None)).unwrap();
        assert_eq!(
            shown,
            serde_json::json!({ "enabled": false, "retryAttempts": 3, "timeoutSeconds": 10, "events": [] })
        );
    }

    #[test]
    fn merge_keeps_what_is_left_out() {
        let base = WebhookSettings::default()
            .merge(
                &WebhookConfigInput {
                    url: Some(Some("https://hooks.example.com/h".into())),
                    enabled: Some(true),
                    events: Some(vec![
                        "verification.completed".into(),
                        "verification.completed".into(),
                    ]),
                    ..input()
                },
                "webhookConfig",
            )
            .unwrap();
        let next = base
            .merge(
                &WebhookConfigInput {
                    retry_attempts: Some(5),
                    ..input()
                },
                "webhookConfig",
            )
            .unwrap();
        let c = next.to_config::<Shown>(None);
        assert_eq!(c.url.as_deref(), Some("https://hooks.example.com/h"));
        assert!(c.enabled);
        assert_eq!((c.retry_attempts, c.timeout_seconds), (5, 10));
        assert_eq!(c.events, ["verification.completed"]);
        assert_eq!(WebhookSettings::from_config(&c), Some(next));
    }

    #[test]
    fn enabling_needs_a_url_and_removing_it_while_enabled_is_refused() {
        let e = WebhookSettings::default()
            .merge(
                &WebhookConfigInput {
                    enabled: Some(true),
                    ..input()
                },
                "items[1].webhookConfig",
            )
            .unwrap_err();
        assert_eq!(e.parameter, "items[1].webhookConfig.url");
        assert_eq!(
            e.code(),
            crate::wire::error::ErrorCode::ValidationMissingParameter
        );
        let on = WebhookSettings::default()
            .merge(
                &WebhookConfigInput {
                    url: Some(Some("https://h.example/".into())),
                    enabled: Some(true),
                    ..input()
                },
                "webhookConfig",
            )
            .unwrap();
        assert!(on
            .merge(
                &WebhookConfigInput {
                    url: Some(None),
                    ..input()
                },
                "webhookConfig"
            )
            .is_err());
        let off = on
            .merge(
                &WebhookConfigInput {
                    url: Some(None),
                    enabled: Some(false),
                    ..input()
                },
                "webhookConfig",
            )
            .unwrap();
        assert_eq!(off.to_config::<Shown>(None).url, None);
    }

    #[test]
    fn ranges_and_events_are_checked() {
        let cases: [(WebhookConfigInput, &str); 6] = [
            (
                WebhookConfigInput {
                    retry_attempts: Some(11),
                    ..input()
                },
                "w.retryAttempts",
            ),
            (
                WebhookConfigInput {
                    retry_attempts: Some(-1),
                    ..input()
                },
                "w.retryAttempts",
            ),
            (
                WebhookConfigInput {
                    timeout_seconds: Some(0),
                    ..input()
                },
                "w.timeoutSeconds",
            ),
            (
                WebhookConfigInput {
                    timeout_seconds: Some(31),
                    ..input()
                },
                "w.timeoutSeconds",
            ),
            (
                WebhookConfigInput {
                    events: Some(vec!["verification.completed".into(), "nope".into()]),
                    ..input()
                },
                "w.events[1]",
            ),
            (
                WebhookConfigInput {
                    url: Some(Some("http://hooks.example/".into())),
                    ..input()
                },
                "w.url",
            ),
        ];
        for (inp, parameter) in cases {
            assert_eq!(
                WebhookSettings::default()
                    .merge(&inp, "w")
                    .unwrap_err()
                    .parameter,
                parameter
            );
        }
        for ok in [0, 10] {
            assert!(WebhookSettings::default()
                .merge(
                    &WebhookConfigInput {
                        retry_attempts: Some(ok),
                        ..input()
                    },
                    "w"
                )
                .is_ok());
        }
    }
}
