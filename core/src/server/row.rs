//! How an app is stored: the App object with its secrets sealed, as one JSON document.
//!
//! The stored form [`Stored`] is the [`App`] with the client secret and the webhook signing
//! secret sealed ([`Sealed`], naming their key) and the workflows as the node ids of the
//! `Default` workflow, as the server holds them ([`Held`]). The document is what serde
//! writes for an `App<Stored>`: the same field names as the API, so a query of D1 by hand
//! reads like the API. The store keeps beside it only what its indexes need.

use crate::rules::app::{DefaultWorkflowNodes, Held};
use crate::rules::random::Entropy;
use crate::server::seal::{KeyRing, SealError, Sealed};
use crate::wire::app::{App, AppForm, FormChange};
use crate::wire::ids::ClientId;
use crate::wire::secrets::{ClientSecret, WebhookSecret};
use std::convert::Infallible;
use std::fmt;

/// The form in which an app is stored: its secrets sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {}

impl AppForm for Stored {
    type ClientSecret = Sealed;
    type Workflows = DefaultWorkflowNodes;
    type WebhookSecret = Sealed;
}

/// A stored app whose secrets could not be opened: which app, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenError {
    /// The app.
    pub client_id: ClientId,
    /// Why a secret did not open (a key gone from the ring, tampering, a bug).
    pub error: SealError,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a stored secret of app {}: {}",
            self.client_id, self.error
        )
    }
}

impl std::error::Error for OpenError {}

/// [`Held`] to [`Stored`]: seals the secrets under the ring's primary key.
struct Seal<'a> {
    ring: &'a KeyRing,
    entropy: &'a mut dyn Entropy,
}

impl FormChange<Held, Stored> for Seal<'_> {
    type Error = Infallible;

    fn client_secret(&mut self, app: &App<Held>) -> Result<Sealed, Infallible> {
        Ok(self
            .ring
            .seal_secret(&app.client_secret, &app.client_id, self.entropy))
    }

    fn workflows(&mut self, app: &App<Held>) -> Result<DefaultWorkflowNodes, Infallible> {
        Ok(app.workflows)
    }

    fn webhook_secret(&mut self, app: &App<Held>) -> Result<Option<Sealed>, Infallible> {
        Ok(app
            .webhook_config
            .secret
            .as_ref()
            .map(|s| self.ring.seal_secret(s, &app.client_id, self.entropy)))
    }
}

/// [`Stored`] to [`Held`]: opens the secrets with the key each names.
struct Open<'a> {
    ring: &'a KeyRing,
}

impl Open<'_> {
    fn error(app: &App<Stored>, error: SealError) -> OpenError {
        OpenError {
            client_id: app.client_id,
            error,
        }
    }
}

impl FormChange<Stored, Held> for Open<'_> {
    type Error = OpenError;

    fn client_secret(&mut self, app: &App<Stored>) -> Result<ClientSecret, OpenError> {
        self.ring
            .open_secret(&app.client_secret, &app.client_id)
            .map_err(|e| Self::error(app, e))
    }

    fn workflows(&mut self, app: &App<Stored>) -> Result<DefaultWorkflowNodes, OpenError> {
        Ok(app.workflows)
    }

    fn webhook_secret(&mut self, app: &App<Stored>) -> Result<Option<WebhookSecret>, OpenError> {
        app.webhook_config
            .secret
            .as_ref()
            .map(|s| self.ring.open_secret(s, &app.client_id))
            .transpose()
            .map_err(|e| Self::error(app, e))
    }
}

impl App<Held> {
    /// This app as stored: its secrets sealed under the ring's primary key.
    pub fn seal(&self, ring: &KeyRing, entropy: &mut dyn Entropy) -> App<Stored> {
        match self.to_form(&mut Seal { ring, entropy }) {
            Ok(app) => app,
            Err(never) => match never {},
        }
    }
}

impl App<Stored> {
    /// The app this stored app holds, its secrets opened.
    pub fn open(&self, ring: &KeyRing) -> Result<App<Held>, OpenError> {
        self.to_form(&mut Open { ring })
    }

    /// The stored document: this app as JSON.
    pub fn doc(&self) -> String {
        // Serializing plain data structures to a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::app::NewApp;
    use crate::rules::input::Path;
    use crate::server::seal::tests::ring;
    use crate::test_util::SeededEntropy;
    use crate::wire::ids::WorkspaceId;
    use crate::wire::request::CreateAppRequest;
    use crate::wire::time::Timestamp;
    use proptest::prelude::*;

    fn minted(name: &str, seed: u64) -> App<Held> {
        let request = CreateAppRequest {
            name: name.into(),
            logo: None,
            redirect_uris: Some(vec!["https://a.example/cb?x=%22q%22".into()]),
            webhook_config: None,
        };
        NewApp::validate(&request, Path::Root).unwrap().mint(
            &WorkspaceId::parse("org_rows").unwrap(),
            Timestamp::from_millis(1_700_000_000_123),
            &mut SeededEntropy::new(seed),
        )
    }

    #[test]
    fn a_stored_app_holds_no_secret_and_opens_to_the_same_app() {
        let mut e = SeededEntropy::new(21);
        let r = ring(&format!("k1:{}", "ab".repeat(32)));
        let secret = WebhookSecret::generate(&mut e);
        let app = minted("Row", 1)
            .with_webhook_secret(secret.clone(), Timestamp::from_millis(1_700_000_000_124));
        let stored = app.seal(&r, &mut e);
        let doc = stored.doc();
        assert!(!doc.contains(app.client_secret.hex_digits()), "{doc}");
        assert!(
            !doc.contains(secret.hex_digits())
                && !doc.contains("sh_app_")
                && !doc.contains("whsec_")
        );
        let back: App<Stored> = serde_json::from_str(&doc).unwrap();
        assert_eq!(back, stored);
        assert_eq!(back.open(&r).unwrap(), app);
    }

    #[test]
    fn the_doc_keeps_the_workflow_as_its_node_ids() {
        let mut e = SeededEntropy::new(22);
        let r = ring(&format!("k1:{}", "cd".repeat(32)));
        let app = minted("Compact", 2);
        let doc: serde_json::Value = serde_json::from_str(&app.seal(&r, &mut e).doc()).unwrap();
        let ids: Vec<&str> = app.workflows.0.iter().map(|n| n.as_str()).collect();
        assert_eq!(doc["workflows"], serde_json::json!(ids));
        assert_eq!(doc["defaultWorkflowId"], app.default_workflow_id.as_str());
        assert_eq!(
            doc["clientSecret"].as_str().unwrap().split('.').next(),
            Some("k1")
        );
    }

    #[test]
    fn a_secret_moved_to_another_app_does_not_open() {
        let mut e = SeededEntropy::new(23);
        let r = ring(&format!("k1:{}", "ef".repeat(32)));
        let a = minted("A", 3).seal(&r, &mut e);
        let mut b = minted("B", 4).seal(&r, &mut e);
        b.client_secret = a.client_secret.clone();
        assert_eq!(
            b.open(&r),
            Err(OpenError {
                client_id: b.client_id,
                error: SealError::Unauthentic
            })
        );
    }

    #[test]
    fn an_app_whose_key_left_the_ring_names_the_app_and_the_key() {
        let mut e = SeededEntropy::new(24);
        let old = ring(&format!("old:{}", "01".repeat(32)));
        let new = ring(&format!("new:{}", "02".repeat(32)));
        let stored = minted("Lost", 5).seal(&old, &mut e);
        let err = stored.open(&new).unwrap_err();
        assert_eq!(err.client_id, stored.client_id);
        assert_eq!(err.error, SealError::UnknownKey("old".into()));
    }

    proptest! {
        #[test]
        fn any_valid_app_survives_its_stored_form(
            name in "[ -~é]{0,40}",
            seed in any::<u64>(),
        ) {
            let name = format!("n{name}");
            let mut e = SeededEntropy::new(seed);
            let r = ring(&format!("k1:{}", "03".repeat(32)));
            let app = minted(&name, seed);
            let doc = app.seal(&r, &mut e).doc();
            let back: App<Stored> = serde_json::from_str(&doc).unwrap();
            prop_assert_eq!(back.open(&r).unwrap(), app);
        }
    }
}
