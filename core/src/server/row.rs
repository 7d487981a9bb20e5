//! How an app is stored: the App object with its secrets sealed, as one JSON document.
//!
//! The stored form [`Stored`] is the [`App`] with the client secret and the webhook signing
//! secret sealed ([`Sealed`], naming their key) and the workflows as the node ids of the
//! `Default` workflow, as the server holds them ([`Held`]). The document is what serde
//! writes for an `App<Stored>`: the same field names as the API, so a query of D1 by hand
//! reads like the API. The store keeps beside it only what its indexes need.

use crate::rules::random::Entropy;
use crate::server::app::{DefaultWorkflowNodes, Held, Kept, SealedText};
use crate::server::seal::{KeyRing, SealableSecret, Sealed};
use crate::wire::app::{App, AppForm, FormChange};
use crate::wire::ids::ClientId;
use crate::wire::secrets::{ClientSecret, WebhookSecret};
use std::convert::Infallible;

/// The form in which an app is stored: its secrets sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {}

impl AppForm for Stored {
    type ClientSecret = Sealed;
    type Workflows = DefaultWorkflowNodes;
    type WebhookSecret = Sealed;
}

/// [`Held`] to [`Stored`]: seals the opened secrets under the ring's primary key, and keeps
/// a secret that could not be opened as it was stored.
struct Seal<'a> {
    ring: &'a KeyRing,
    entropy: &'a mut dyn Entropy,
}

impl Seal<'_> {
    fn seal<S: SealableSecret>(&mut self, secret: &Kept<S>, id: &ClientId) -> Sealed {
        match secret {
            Kept::Open(secret) => self.ring.seal_secret(secret, id, self.entropy),
            Kept::Sealed(kept) => Sealed::from_stored(kept.text.clone()),
        }
    }
}

impl FormChange<Held, Stored> for Seal<'_> {
    type Error = Infallible;

    fn client_secret(&mut self, app: &App<Held>) -> Result<Sealed, Infallible> {
        Ok(self.seal(&app.client_secret, &app.client_id))
    }

    fn workflows(&mut self, app: &App<Held>) -> Result<DefaultWorkflowNodes, Infallible> {
        Ok(app.workflows)
    }

    fn webhook_secret(&mut self, app: &App<Held>) -> Result<Option<Sealed>, Infallible> {
        Ok(app
            .webhook_config
            .secret
            .as_ref()
            .map(|s| self.seal(s, &app.client_id)))
    }
}

/// [`Stored`] to [`Held`]: opens the secrets with the key each names; a secret that does
/// not open (its key is gone from the ring, or it was tampered with) is kept sealed.
struct Open<'a> {
    ring: &'a KeyRing,
}

impl Open<'_> {
    fn open<S: SealableSecret>(&self, sealed: &Sealed, id: &ClientId) -> Kept<S> {
        match self.ring.open_secret(sealed, id) {
            Ok(secret) => Kept::Open(secret),
            Err(_) => Kept::Sealed(SealedText {
                text: sealed.as_str().to_owned(),
                key_id: sealed.key_id().unwrap_or_default().to_owned(),
            }),
        }
    }
}

impl FormChange<Stored, Held> for Open<'_> {
    type Error = Infallible;

    fn client_secret(&mut self, app: &App<Stored>) -> Result<Kept<ClientSecret>, Infallible> {
        Ok(self.open(&app.client_secret, &app.client_id))
    }

    fn workflows(&mut self, app: &App<Stored>) -> Result<DefaultWorkflowNodes, Infallible> {
        Ok(app.workflows)
    }

    fn webhook_secret(
        &mut self,
        app: &App<Stored>,
    ) -> Result<Option<Kept<WebhookSecret>>, Infallible> {
        Ok(app
            .webhook_config
            .secret
            .as_ref()
            .map(|s| self.open(s, &app.client_id)))
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
    /// The app this stored app holds, its secrets opened where they open.
    pub fn open(&self, ring: &KeyRing) -> App<Held> {
        match self.to_form(&mut Open { ring }) {
            Ok(app) => app,
            Err(never) => match never {},
        }
    }

    /// The ids of the keys its sealed values name, sorted, each once.
    pub fn key_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = std::iter::once(&self.client_secret)
            .chain(self.webhook_config.secret.as_ref())
            .map(|sealed| sealed.key_id().unwrap_or_default().to_owned())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// This app with its values sealed again under the ring's primary key, where any is
    /// under another key and opens; `None` when nothing would move. A value that does not
    /// open stays as it was.
    pub fn resealed(&self, ring: &KeyRing, entropy: &mut dyn Entropy) -> Option<App<Stored>> {
        if self.key_ids().iter().all(|id| id == ring.primary_id()) {
            return None;
        }
        let again = self.open(ring).seal(ring, entropy);
        (again.key_ids() != self.key_ids()).then_some(again)
    }

    /// The stored document: this app as JSON.
    pub fn doc(&self) -> String {
        // Serializing plain data structures to a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rules::app::NewApp;
    use crate::rules::input::Path;
    use crate::server::seal::tests::ring;
    use crate::server::shards::ClientIdClass;
    use crate::test_util::SeededEntropy;
    use crate::wire::ids::WorkspaceId;
    use crate::wire::request::CreateAppRequest;
    use crate::wire::time::Timestamp;
    use proptest::prelude::*;

    pub(crate) fn minted(name: &str, seed: u64) -> App<Held> {
        let request = CreateAppRequest {
            name: name.into(),
            logo: None,
            redirect_uris: Some(vec!["https://a.example/cb?x=%22q%22".into()]),
            webhook_config: None,
        };
        NewApp::validate(&request, Path::Root).unwrap().mint(
            &WorkspaceId::parse("org_rows").unwrap(),
            ClientIdClass::FIRST,
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
        let client_secret = app.client_secret.open().unwrap();
        assert!(!doc.contains(client_secret.hex_digits()), "{doc}");
        assert!(
            !doc.contains(secret.hex_digits())
                && !doc.contains("sh_app_")
                && !doc.contains("whsec_")
        );
        let back: App<Stored> = serde_json::from_str(&doc).unwrap();
        assert_eq!(back, stored);
        assert_eq!(back.open(&r), app);
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
    fn a_secret_moved_to_another_app_does_not_open_and_is_kept_as_stored() {
        let mut e = SeededEntropy::new(23);
        let r = ring(&format!("k1:{}", "ef".repeat(32)));
        let a = minted("A", 3).seal(&r, &mut e);
        let mut b = minted("B", 4).seal(&r, &mut e);
        b.client_secret = a.client_secret.clone();
        let held = b.open(&r);
        assert_eq!(
            held.client_secret,
            Kept::Sealed(SealedText {
                text: a.client_secret.as_str().to_owned(),
                key_id: "k1".into()
            })
        );
        assert_eq!(held.show().unwrap_err().client_id, b.client_id);
        // Written back, it is the value that was stored, not a new one.
        assert_eq!(held.seal(&r, &mut e).client_secret, a.client_secret);
    }

    #[test]
    fn an_app_whose_key_left_the_ring_is_kept_sealed_until_a_rotation_repairs_it() {
        let mut e = SeededEntropy::new(24);
        let old = ring(&format!("old:{}", "01".repeat(32)));
        let new = ring(&format!("new:{}", "02".repeat(32)));
        let hook = WebhookSecret::generate(&mut e);
        let app =
            minted("Lost", 5).with_webhook_secret(hook, Timestamp::from_millis(1_700_000_000_200));
        let stored = app.seal(&old, &mut e);
        let held = stored.open(&new);
        let lost = held.show().unwrap_err();
        assert_eq!(
            (lost.client_id, lost.key_id.as_str()),
            (stored.client_id, "old")
        );
        assert_eq!(
            held.shown_webhook_config().secret,
            None,
            "no preview of what does not open"
        );
        // A change that keeps the secrets writes them back as they were, under `old`.
        let renamed = held.seal(&new, &mut e);
        assert_eq!(renamed.client_secret, stored.client_secret);
        assert_eq!(renamed.webhook_config.secret, stored.webhook_config.secret);
        // A rotation replaces the client secret: sealed under `new`, it shows again.
        let secret = ClientSecret::generate(&mut e);
        let repaired =
            held.with_client_secret(secret.clone(), Timestamp::from_millis(1_800_000_000_000));
        let stored = repaired.seal(&new, &mut e);
        assert_eq!(stored.client_secret.key_id(), Some("new"));
        assert_eq!(stored.open(&new).show().unwrap().client_secret, secret);
    }

    #[test]
    fn a_reseal_moves_what_opens_to_the_primary_and_nothing_else() {
        let mut e = SeededEntropy::new(25);
        let a = format!("a:{}", "0a".repeat(32));
        let b = format!("b:{}", "0b".repeat(32));
        let app = minted("Moved", 6).with_webhook_secret(
            WebhookSecret::generate(&mut e),
            Timestamp::from_millis(1_700_000_000_300),
        );
        let under_a = app.seal(&ring(&a), &mut e);
        assert_eq!(under_a.key_ids(), ["a"]);
        let both = ring(&format!("{b},{a}"));
        let moved = under_a.resealed(&both, &mut e).unwrap();
        assert_eq!(moved.key_ids(), ["b"]);
        assert_eq!(moved.open(&both), app, "the same app, the same secrets");
        assert_eq!(moved.resealed(&both, &mut e), None, "nothing left to move");
        // Without `a` in the ring nothing opens, so nothing moves.
        assert_eq!(under_a.resealed(&ring(&b), &mut e), None);
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
            prop_assert_eq!(back.open(&r), app);
        }
    }
}
