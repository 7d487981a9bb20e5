//! Webhook configuration of an app: its rules and its merge.

use crate::rules::input::Path;
use crate::rules::redirect_uri::RedirectUri;
use crate::wire::app::{AppForm, WebhookConfig};
use crate::wire::error::FieldError;
use crate::wire::request::WebhookConfigInput;

/// `retryAttempts` range.
pub const RETRY_ATTEMPTS: std::ops::RangeInclusive<i64> = 0..=10;
/// `timeoutSeconds` range.
pub const TIMEOUT_SECONDS: std::ops::RangeInclusive<i64> = 1..=30;

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

impl WebhookSettings {
    /// Merges `input` onto these settings (fields left out keep their values; `url: null`
    /// removes the URL) and checks the result: `enabled: true` needs a `url`.
    ///
    /// `parameter` names the config object (`webhookConfig`, `items[2].webhookConfig`, or
    /// `""` on the webhook-config route, where fields are named bare: `retryAttempts`).
    pub fn merge<'p>(
        &self,
        input: &WebhookConfigInput,
        parameter: impl Into<Path<'p>>,
    ) -> Result<Self, FieldError> {
        let parameter = parameter.into();
        let field = |name: &'static str| Path::Field(&parameter, name);
        let mut next = self.clone();
        match &input.url {
            None => {}
            Some(None) => next.url = None,
            Some(Some(url)) => next.url = Some(RedirectUri::parse(url, field("url"))?),
        }
        if let Some(enabled) = input.enabled {
            next.enabled = enabled;
        }
        if let Some(n) = input.retry_attempts {
            next.retry_attempts = in_range(n, RETRY_ATTEMPTS, field("retryAttempts"))?;
        }
        if let Some(n) = input.timeout_seconds {
            next.timeout_seconds = in_range(n, TIMEOUT_SECONDS, field("timeoutSeconds"))?;
        }
        if let Some(events) = &input.events {
            next.events = events_of(events, field("events"))?;
        }
        if next.enabled && next.url.is_none() {
            return Err(FieldError::missing(field("url")).with_message(format!(
                "{} is required when webhooks are enabled",
                field("url")
            )));
        }
        Ok(next)
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

/// Known event names, duplicates dropped keeping the first.
fn events_of(events: &[String], parameter: Path<'_>) -> Result<Vec<String>, FieldError> {
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
