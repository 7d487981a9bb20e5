//! Storage that fails chosen calls, for the protocol's tests: a call failing *before* is
//! never carried out; one failing *after* takes effect (a transaction commits, an entry is
//! stored) and its answer is lost. Which calls fail is drawn from a seed and a rate, or
//! scripted call by call. Only tests use this: no production crate has a fault in it.

use connect_core::server::storage::StorageError;
use std::sync::{Arc, Mutex};

/// A storage call, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// A database read.
    Read,
    /// A database transaction.
    Write,
    /// A key-value read.
    KvGet,
    /// A key-value write.
    KvPut,
    /// A key-value delete.
    KvDelete,
}

/// When a failing call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Before it is carried out: nothing happens.
    Before,
    /// After it took effect: its answer is lost.
    After,
}

impl Fault {
    /// The error of a call failing before it is carried out.
    pub fn before(self) -> Result<(), StorageError> {
        match self {
            Self::Before => Err(StorageError::new("injected fault: the call was not sent")),
            Self::After => Ok(()),
        }
    }

    /// The error of a call that took effect and whose answer is lost.
    pub fn after(self) -> Result<(), StorageError> {
        match self {
            Self::After => Err(StorageError::new(
                "injected fault: the call took effect and its answer was lost",
            )),
            Self::Before => Ok(()),
        }
    }
}

#[derive(Debug)]
enum Plan {
    /// Each call of a kind in `kinds` fails with odds `rate`, drawn from the state.
    Seeded {
        state: u64,
        rate: f64,
        kinds: Vec<(Call, Fault)>,
    },
    /// The calls listed fail: (kind, its n-th call from 1, how).
    Scripted {
        counts: Vec<(Call, u64)>,
        failing: Vec<(Call, u64, Fault)>,
    },
}

/// Which calls fail; shared by every connection and thread of a test.
#[derive(Debug, Clone)]
pub struct Faults {
    plan: Arc<Mutex<Plan>>,
    /// Every fault drawn so far, in order.
    drawn: Arc<Mutex<Vec<(Call, Fault)>>>,
}

impl Faults {
    /// Calls of the kinds `kinds` (each with when it fails) fail with odds `rate`, drawn
    /// from `seed`.
    pub fn seeded(seed: u64, rate: f64, kinds: &[(Call, Fault)]) -> Self {
        Self::of(Plan::Seeded {
            state: seed | 1,
            rate,
            kinds: kinds.to_vec(),
        })
    }

    /// Exactly the calls listed fail: `(kind, n, fault)` fails the n-th call of that kind
    /// (counted from 1 over all connections sharing this plan).
    pub fn scripted(failing: &[(Call, u64, Fault)]) -> Self {
        Self::of(Plan::Scripted {
            counts: Vec::new(),
            failing: failing.to_vec(),
        })
    }

    fn of(plan: Plan) -> Self {
        Self {
            plan: Arc::new(Mutex::new(plan)),
            drawn: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Whether this call fails, and how.
    pub fn draw(&self, call: Call) -> Option<Fault> {
        let mut plan = self.plan.lock().expect("the fault plan");
        let fault = match &mut *plan {
            Plan::Seeded { state, rate, kinds } => {
                let fault = kinds.iter().find(|(k, _)| *k == call).map(|(_, f)| *f)?;
                *state ^= *state >> 12;
                *state ^= *state << 25;
                *state ^= *state >> 27;
                let draw = state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
                ((draw as f64) / ((1u64 << 53) as f64) < *rate).then_some(fault)
            }
            Plan::Scripted { counts, failing } => {
                let n = match counts.iter_mut().find(|(k, _)| *k == call) {
                    Some((_, n)) => {
                        *n += 1;
                        *n
                    }
                    None => {
                        counts.push((call, 1));
                        1
                    }
                };
                failing
                    .iter()
                    .find(|(k, at, _)| *k == call && *at == n)
                    .map(|(_, _, f)| *f)
            }
        };
        if let Some(fault) = fault {
            self.drawn
                .lock()
                .expect("the faults drawn")
                .push((call, fault));
        }
        fault
    }

    /// The faults drawn so far, in order.
    pub fn drawn(&self) -> Vec<(Call, Fault)> {
        self.drawn.lock().expect("the faults drawn").clone()
    }
}
