//! Fault injection for tests: with the cargo feature `faults` (a test build only, see
//! `scripts/build-worker.sh --faults`), the D1 and KV calls of [`crate::store`] fail as
//! `FAULT_SEED`, `FAULT_RATE` and `FAULT_CALLS` say (`connect_core::server::faults`):
//! before they are sent (no effect), or after (a write commits, its answer is lost).
//! Without the feature `Faults::around` is the call itself, and nothing of this is built.

pub use imp::Faults;

/// A storage call, as the plan names it.
pub use connect_core::server::storage_call::Call;

#[cfg(not(feature = "faults"))]
mod imp {
    use super::Call;
    use crate::error::ApiResult;
    use std::future::Future;
    use worker::Env;

    /// No faults: a release build.
    #[derive(Clone, Copy, Default)]
    pub struct Faults;

    impl Faults {
        /// The plan of this Worker's vars (none without `FAULT_RATE`).
        pub fn of(_env: &Env) -> ApiResult<Self> {
            Ok(Faults)
        }

        /// Runs `call` (a lazy future: nothing is sent until it is polled) under the plan.
        pub async fn around<T>(
            &self,
            _call: Call,
            sent: impl Future<Output = worker::Result<T>>,
        ) -> worker::Result<T> {
            sent.await
        }
    }
}

#[cfg(feature = "faults")]
mod imp {
    use super::Call;
    use crate::error::{ApiError, ApiResult};
    use connect_core::server::faults::{Fault, FaultPlan};
    use std::cell::Cell;
    use std::future::Future;
    use std::rc::Rc;
    use worker::{console_warn, Env};

    thread_local! {
        /// How many storage calls this isolate made: the plan's draw index.
        static CALLS: Cell<u64> = const { Cell::new(0) };
    }

    /// The plan of a test server, if it has one.
    #[derive(Clone, Default)]
    pub struct Faults(Option<Rc<FaultPlan>>);

    impl Faults {
        /// The plan of this Worker's vars (none without `FAULT_RATE`).
        pub fn of(env: &Env) -> ApiResult<Self> {
            let var = |name: &str| env.var(name).ok().map(|v| v.to_string());
            let plan = FaultPlan::parse(
                var("FAULT_SEED").as_deref(),
                var("FAULT_RATE").as_deref(),
                var("FAULT_CALLS").as_deref(),
            )
            .map_err(ApiError::Internal)?;
            Ok(Faults(plan.map(Rc::new)))
        }

        /// Runs `call` (a lazy future: nothing is sent until it is polled) under the plan.
        pub async fn around<T>(
            &self,
            call: Call,
            sent: impl Future<Output = worker::Result<T>>,
        ) -> worker::Result<T> {
            let Some(plan) = &self.0 else {
                return sent.await;
            };
            let n = CALLS.with(|c| c.replace(c.get() + 1));
            let injected = |when: &str| {
                // One line per fault, which the tests count.
                console_warn!("fault injected: {} failed {when}", call.name());
                worker::Error::RustError(format!("injected fault: {} failed {when}", call.name()))
            };
            match plan.draw(call, n) {
                None => sent.await,
                Some(Fault::Before) => Err(injected("before it was sent")),
                Some(Fault::After) => {
                    sent.await?;
                    Err(injected("after it took effect"))
                }
            }
        }
    }
}
