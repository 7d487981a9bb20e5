//! `POST /apps/batch`: how a batch is judged. (Minting the judged batch and its answer are
//! the server's: `connect_core::server::batch`.)
//!
//! - `continueOnError: false` (default): all or nothing. The first item that fails aborts
//!   the batch; nothing is created and the answer is that item's error with
//!   `details.index`.
//! - `continueOnError: true`: each item is judged on its own; the valid ones are created
//!   (in one atomic write, the store's business) and the answer holds one result per
//!   item, in input order.
//!
//! Zero items, more than 100, or `items` not an array is a 400 on `items` (with
//! `details.max`). A batch whose items all fail under `continueOnError: true` is still a
//! 201 with `successCount: 0`: the request was understood and every outcome is reported
//! item by item, as the caller asked.

use crate::rules::app::NewApp;
use crate::rules::bodies::MAX_ITEM_KEY_CHARS;
use crate::rules::input::{FromJson, Object, Path};
use crate::wire::error::FieldError;
use crate::wire::request::BatchItem;
use serde_json::Value;

/// The most items one batch can hold.
pub const MAX_BATCH_ITEMS: usize = 100;

/// A judged batch: each item either a valid new app or its error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPlan {
    continue_on_error: bool,
    pub(crate) items: Vec<PlannedItem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedItem {
    pub(crate) idempotency_key: Option<String>,
    pub(crate) app: Result<NewApp, FieldError>,
}

/// Judges a batch body. `Err` is the answer to the whole request: a malformed envelope,
/// or (without `continueOnError`) the first failing item, with its `index`.
pub fn plan(body: &Value) -> Result<BatchPlan, FieldError> {
    let o = Object::new(body, "")?;
    o.only(&["items", "continueOnError"])?;
    let continue_on_error = o.optional::<bool>("continueOnError")?.unwrap_or(false);
    let raw_items = match o.raw("items") {
        None => return Err(FieldError::missing("items")),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(
                FieldError::invalid("items", "must be an array of 1 to 100 items")
                    .with_max(MAX_BATCH_ITEMS as u64),
            )
        }
    };
    if raw_items.is_empty() || raw_items.len() > MAX_BATCH_ITEMS {
        return Err(FieldError::invalid(
            "items",
            format!(
                "must hold 1 to {MAX_BATCH_ITEMS} items (got {})",
                raw_items.len()
            ),
        )
        .with_max(MAX_BATCH_ITEMS as u64));
    }
    let mut items = Vec::with_capacity(raw_items.len());
    for (i, raw) in raw_items.iter().enumerate() {
        let item = plan_item(raw, i);
        if !continue_on_error {
            if let Err(e) = &item.app {
                return Err(e.clone());
            }
        }
        items.push(item);
    }
    Ok(BatchPlan {
        continue_on_error,
        items,
    })
}

/// One item of a batch body, found at `index` of `items`, as the server judges it: the
/// new app, or the error with the item's path (`items[3].name`) and index.
pub fn judge_item(raw: &Value, index: usize) -> Result<NewApp, FieldError> {
    plan_item(raw, index).app
}

fn plan_item(raw: &Value, index: usize) -> PlannedItem {
    let items = Path::Named("items");
    let path = items.index(index);
    match BatchItem::read(raw, path) {
        Ok(item) => PlannedItem {
            app: NewApp::validate(&item.app, path).map_err(|e| e.at_index(index)),
            idempotency_key: item.idempotency_key,
        },
        Err(e) => PlannedItem {
            // Echo the caller's reference even when another field of the item is wrong,
            // so the failure can be matched to their record; but only a well-formed one.
            idempotency_key: raw
                .get("idempotencyKey")
                .and_then(Value::as_str)
                .filter(|k| k.chars().count() <= MAX_ITEM_KEY_CHARS)
                .map(str::to_owned),
            app: Err(e.at_index(index)),
        },
    }
}

impl BatchPlan {
    /// Whether the caller asked for item-by-item judgement.
    pub fn continue_on_error(&self) -> bool {
        self.continue_on_error
    }

    /// Number of items in the batch.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Never true for a plan [`plan`] returned; here for completeness.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_plan_keeps_the_callers_mode_and_its_items() {
        let items = json!([{ "name": "a" }, { "name": "b" }]);
        for (mode, expected) in [(Some(true), true), (Some(false), false), (None, false)] {
            let mut body = json!({ "items": items });
            if let Some(mode) = mode {
                body["continueOnError"] = json!(mode);
            }
            let p = plan(&body).unwrap();
            assert_eq!(p.continue_on_error(), expected, "{body}");
            assert_eq!((p.len(), p.is_empty()), (2, false));
        }
    }

    #[test]
    fn without_continue_the_first_failure_aborts_with_its_index() {
        let body = json!({ "items": [ { "name": "ok" }, { "name": "" }, { "name": 5 } ] });
        let e = plan(&body).unwrap_err();
        assert_eq!((e.parameter.as_str(), e.index), ("items[1].name", Some(1)));
        let e = plan(&json!({ "items": [ { "name": "ok" }, { "nam": "x" } ] })).unwrap_err();
        assert_eq!((e.parameter.as_str(), e.index), ("items[1].nam", Some(1)));
        let obj = e.to_error_object();
        assert_eq!(obj.details.unwrap().index, Some(1));
    }

    #[test]
    fn the_envelope_is_checked() {
        let cases = [
            (json!({}), "items", None),
            (json!({ "items": [] }), "items", Some(100)),
            (json!({ "items": {} }), "items", Some(100)),
            (
                json!({ "items": [ { "name": "a" } ], "continueOnError": "yes" }),
                "continueOnError",
                None,
            ),
            (
                json!({ "items": [ { "name": "a" } ], "extra": 1 }),
                "extra",
                None,
            ),
            (json!("items"), "body", None),
        ];
        for (body, parameter, max) in cases {
            let e = plan(&body).unwrap_err();
            assert_eq!((e.parameter.as_str(), e.max), (parameter, max), "{body}");
        }
        let items: Vec<Value> = (0..101)
            .map(|i| json!({ "name": format!("app {i}") }))
            .collect();
        let e = plan(&json!({ "items": items })).unwrap_err();
        assert_eq!((e.parameter.as_str(), e.max), ("items", Some(100)));
        let items: Vec<Value> = (0..100)
            .map(|i| json!({ "name": format!("app {i}") }))
            .collect();
        assert_eq!(plan(&json!({ "items": items })).unwrap().len(), 100);
    }
}
