//! `POST /apps/batch` on the server: a judged batch ([`crate::rules::batch::plan`])
//! minted into apps, and its answer.

use crate::rules::batch::BatchPlan;
use crate::rules::random::Entropy;
use crate::server::app::{Held, NotOpened};
use crate::server::shards::ClientIdClass;
use crate::wire::app::App;
use crate::wire::error::ErrorObject;
use crate::wire::ids::WorkspaceId;
use crate::wire::response::{BatchCreateResponse, BatchResult};
use crate::wire::time::Timestamp;

impl BatchPlan {
    /// Mints every valid item, their client ids of `class` (the class of the workspace's
    /// shard). Minting is random: if the store refuses a client id as taken, call this
    /// again for a fresh set.
    pub fn execute(
        &self,
        workspace: &WorkspaceId,
        class: ClientIdClass,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> BatchOutcome {
        let items = self
            .items
            .iter()
            .map(|item| ItemOutcome {
                idempotency_key: item.idempotency_key.clone(),
                app: match &item.app {
                    Ok(new) => Ok(new.mint(workspace, class, now, entropy)),
                    Err(e) => Err(e.to_error_object()),
                },
            })
            .collect();
        BatchOutcome { items }
    }
}

/// What a batch made: per item, in input order, the new app or why it failed.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOutcome {
    /// One per input item, in input order.
    pub items: Vec<ItemOutcome>,
}

/// One item of a [`BatchOutcome`].
#[derive(Debug, Clone, PartialEq)]
pub struct ItemOutcome {
    /// The item's `idempotencyKey`, to echo on its result.
    pub idempotency_key: Option<String>,
    /// The new app, or the item's error.
    pub app: Result<App<Held>, ErrorObject>,
}

impl BatchOutcome {
    /// The created apps, in input order: what the store writes.
    pub fn apps(&self) -> impl Iterator<Item = &App<Held>> {
        self.items.iter().filter_map(|i| i.app.as_ref().ok())
    }

    /// The 201 body. (A new app's secret is always open: [`NotOpened`] cannot happen.)
    pub fn response(&self) -> Result<BatchCreateResponse, NotOpened> {
        let results = self
            .items
            .iter()
            .map(|item| {
                let (app, error) = match &item.app {
                    Ok(app) => (Some(app.show()?), None),
                    Err(e) => (None, Some(e.clone())),
                };
                Ok(BatchResult {
                    app,
                    error,
                    idempotency_key: item.idempotency_key.clone(),
                })
            })
            .collect::<Result<Vec<_>, NotOpened>>()?;
        let success_count = results.iter().filter(|r| r.app.is_some()).count();
        Ok(BatchCreateResponse {
            error_count: results.len() - success_count,
            success_count,
            results,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::batch::plan;
    use crate::test_util::SeededEntropy;
    use crate::wire::error::ErrorCode;
    use crate::wire::request::{BatchCreateRequest, BatchItem, CreateAppRequest};
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn ws() -> WorkspaceId {
        WorkspaceId::parse("org_batch").unwrap()
    }

    fn now() -> Timestamp {
        Timestamp::from_millis(1_774_599_771_272)
    }

    #[test]
    fn the_seed_example_creates_three_apps() {
        let body = json!({
            "items": [
                { "name": "Acme Corp", "redirectUris": ["https://acme.example.com/callback"], "idempotencyKey": "customer-001" },
                { "name": "Beta Ltd",  "redirectUris": ["https://beta.example.com/callback"],  "idempotencyKey": "customer-002" },
                { "name": "Gamma Inc", "idempotencyKey": "customer-003" }
            ],
            "continueOnError": true
        });
        let out = plan(&body).unwrap().execute(
            &ws(),
            ClientIdClass::FIRST,
            now(),
            &mut SeededEntropy::new(1),
        );
        let r = &out.response().unwrap();
        assert_eq!((r.success_count, r.error_count, r.results.len()), (3, 0, 3));
        assert_eq!(
            r.results[2].idempotency_key.as_deref(),
            Some("customer-003")
        );
        assert_eq!(
            r.results[2].app.as_ref().unwrap().redirect_uris,
            Vec::<String>::new()
        );
        assert_eq!(out.apps().count(), 3);
    }

    #[test]
    fn with_continue_each_item_is_judged_alone() {
        let body = json!({
            "continueOnError": true,
            "items": [
                { "name": "good", "idempotencyKey": "a" },
                { "name": "bad", "redirectUris": ["http://evil.example/"], "idempotencyKey": "b" },
                null,
                { "name": "typo", "redirectURIs": [], "idempotencyKey": "d" },
                { "name": "good too" }
            ]
        });
        let out = plan(&body).unwrap().execute(
            &ws(),
            ClientIdClass::FIRST,
            now(),
            &mut SeededEntropy::new(2),
        );
        let r = &out.response().unwrap();
        assert_eq!((r.success_count, r.error_count), (2, 3));
        let err = |i: usize| r.results[i].error.as_ref().unwrap();
        assert_eq!(
            err(1).details.as_ref().unwrap().parameter.as_deref(),
            Some("items[1].redirectUris[0]")
        );
        assert_eq!(r.results[1].idempotency_key.as_deref(), Some("b"));
        assert_eq!(err(2).code, ErrorCode::ValidationInvalidParameter);
        assert_eq!(
            err(2).details.as_ref().unwrap().parameter.as_deref(),
            Some("items[2]")
        );
        assert_eq!(
            err(3).details.as_ref().unwrap().parameter.as_deref(),
            Some("items[3].redirectURIs")
        );
        assert_eq!(r.results[3].idempotency_key.as_deref(), Some("d"));
        assert!(r.results[4].app.is_some() && r.results[4].idempotency_key.is_none());
        assert_eq!(out.apps().count(), 2);
    }

    fn item_strategy() -> impl Strategy<Value = BatchItem> {
        (
            // Never blank once trimmed, so no case is skipped; spaces at the ends are
            // trimmed.
            " ?[A-Za-z0-9][A-Za-z0-9 ]{0,18} ?",
            proptest::option::of(proptest::collection::vec(
                "https://[a-z]{1,8}\\.example/[a-z]{0,6}",
                0..4,
            )),
            proptest::option::of("[ -~]{0,20}"),
        )
            .prop_map(|(name, redirect_uris, idempotency_key)| BatchItem {
                app: CreateAppRequest {
                    name,
                    logo: None,
                    redirect_uris,
                    webhook_config: None,
                },
                idempotency_key,
            })
    }

    proptest! {
        #[test]
        fn any_valid_item_list_round_trips(items in proptest::collection::vec(item_strategy(), 1..20), seed in any::<u64>()) {
            let request = BatchCreateRequest { items: items.clone(), continue_on_error: None };
            let body = serde_json::to_value(&request).unwrap();
            let out = plan(&body).unwrap().execute(&ws(), ClientIdClass::FIRST, now(), &mut SeededEntropy::new(seed));
            let response = out.response().unwrap();
            let wire = serde_json::to_string(&response).unwrap();
            let back: BatchCreateResponse = serde_json::from_str(&wire).unwrap();
            prop_assert_eq!(&back, &response);
            prop_assert_eq!(back.results.len(), items.len());
            for (item, result) in items.iter().zip(&back.results) {
                let app = result.app.as_ref().unwrap();
                prop_assert_eq!(&app.name, item.app.name.trim());
                prop_assert_eq!(&result.idempotency_key, &item.idempotency_key);
            }
        }

        #[test]
        fn a_result_per_item_in_order_and_counts_add_up(
            items in proptest::collection::vec(prop_oneof![
                Just(json!({ "name": "ok" })),
                Just(json!({ "name": "" })),
                Just(json!({ "name": "x", "redirectUris": ["nope"] })),
                Just(json!(42)),
                Just(json!({ "name": "k", "idempotencyKey": "kk" })),
            ], 1..=100),
            seed in any::<u64>(),
        ) {
            let body = json!({ "items": items, "continueOnError": true });
            let out = plan(&body).unwrap().execute(&ws(), ClientIdClass::FIRST, now(), &mut SeededEntropy::new(seed));
            let r = &out.response().unwrap();
            prop_assert_eq!(r.results.len(), items.len());
            prop_assert_eq!(r.success_count + r.error_count, items.len());
            prop_assert_eq!(r.success_count, out.apps().count());
            for (i, (raw, result)) in items.iter().zip(&r.results).enumerate() {
                let ok = raw.get("name").and_then(Value::as_str).is_some_and(|n| n == "ok" || n == "k");
                prop_assert_eq!(result.app.is_some(), ok);
                prop_assert_eq!(result.error.is_some(), !ok);
                if let Some(e) = &result.error {
                    prop_assert_eq!(e.details.as_ref().unwrap().index, Some(i));
                }
            }
            let ids: std::collections::HashSet<_> = out.apps().map(|a| a.client_id).collect();
            prop_assert_eq!(ids.len(), out.apps().count());
        }
    }
}
