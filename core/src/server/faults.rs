//! Fault injection for tests (feature `faults`, never in a release build of the Worker):
//! which storage calls fail, and how, drawn from a seed and a rate.
//!
//! A test server is given `FAULT_SEED` (an unsigned integer), `FAULT_RATE` (the share of
//! calls that fail, 0 to 1) and optionally `FAULT_CALLS` (which calls may fail, a comma list
//! of [`Call`] names with an optional `:before` or `:after`; all of them, both ways, when
//! absent). The n-th call of an isolate fails when a hash of the seed and n falls under
//! the rate, so one seed gives one sequence of faults; which request meets which fault
//! still depends on how concurrent requests interleave.

pub use crate::server::storage_call::Call;

/// The calls in the order of a plan's table.
const ALL_CALLS: [Call; 5] = [
    Call::D1Read,
    Call::D1Write,
    Call::KvGet,
    Call::KvPut,
    Call::KvDelete,
];

/// A call's place in a plan's table.
fn index(call: Call) -> usize {
    call as usize
}

/// How a call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// It fails before it is sent: it has no effect.
    Before,
    /// It takes effect (a write commits), then its answer is lost.
    After,
}

/// Which ways each call may fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Ways {
    before: bool,
    after: bool,
}

/// The faults of a test server.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    seed: u64,
    /// The rate scaled to 2^32: a call fails when its draw is below it.
    threshold: u64,
    ways: [Ways; 5],
}

impl FaultPlan {
    /// The plan of `FAULT_SEED`, `FAULT_RATE` and `FAULT_CALLS`; `None` when no rate is
    /// set (no faults). A malformed value is an error naming it.
    pub fn parse(
        seed: Option<&str>,
        rate: Option<&str>,
        calls: Option<&str>,
    ) -> Result<Option<FaultPlan>, String> {
        let Some(rate) = rate.map(str::trim).filter(|r| !r.is_empty()) else {
            return Ok(None);
        };
        let rate: f64 = rate
            .parse()
            .ok()
            .filter(|r: &f64| (0.0..=1.0).contains(r))
            .ok_or_else(|| format!("FAULT_RATE must be a number from 0 to 1, not {rate:?}"))?;
        let seed = match seed.map(str::trim) {
            None | Some("") => 0,
            Some(s) => s
                .parse()
                .map_err(|_| format!("FAULT_SEED must be an unsigned integer, not {s:?}"))?,
        };
        let ways = match calls.map(str::trim).filter(|c| !c.is_empty()) {
            None => {
                [Ways {
                    before: true,
                    after: true,
                }; 5]
            }
            Some(list) => {
                let mut ways = [Ways::default(); 5];
                for part in list.split(',').map(str::trim) {
                    let (name, how) = part.split_once(':').unwrap_or((part, ""));
                    let call = ALL_CALLS
                        .into_iter()
                        .find(|c| c.name() == name)
                        .ok_or_else(|| format!("FAULT_CALLS: unknown call {name:?}"))?;
                    let w = &mut ways[index(call)];
                    match how {
                        "" => (w.before, w.after) = (true, true),
                        "before" => w.before = true,
                        "after" => w.after = true,
                        other => {
                            return Err(format!("FAULT_CALLS: {other:?} is not before or after"))
                        }
                    }
                }
                ways
            }
        };
        Ok(Some(FaultPlan {
            seed,
            threshold: (rate * 4_294_967_296.0) as u64,
            ways,
        }))
    }

    /// Whether the `n`-th call of its isolate (from 0), a `call`, fails, and how.
    pub fn draw(&self, call: Call, n: u64) -> Option<Fault> {
        let ways = self.ways[index(call)];
        if !(ways.before || ways.after) {
            return None;
        }
        let h = splitmix64(self.seed ^ splitmix64(n));
        if h >> 32 >= self.threshold {
            return None;
        }
        Some(match (ways.before, ways.after) {
            (true, true) if h & 1 == 0 => Fault::Before,
            (true, true) => Fault::After,
            (true, false) => Fault::Before,
            _ => Fault::After,
        })
    }
}

/// SplitMix64's finaliser: a well-mixed 64-bit hash of `x`.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(seed: &str, rate: &str, calls: Option<&str>) -> FaultPlan {
        FaultPlan::parse(Some(seed), Some(rate), calls)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn no_rate_no_plan() {
        assert_eq!(FaultPlan::parse(Some("1"), None, None), Ok(None));
        assert_eq!(FaultPlan::parse(None, Some(" "), Some("d1-read")), Ok(None));
    }

    #[test]
    fn malformed_settings_are_named() {
        for (seed, rate, calls, says) in [
            ("1", "1.5", None, "FAULT_RATE"),
            ("1", "ten", None, "FAULT_RATE"),
            ("-1", "0.1", None, "FAULT_SEED"),
            ("1", "0.1", Some("d1-reed"), "FAULT_CALLS"),
            ("1", "0.1", Some("kv-get:during"), "FAULT_CALLS"),
        ] {
            let err = FaultPlan::parse(Some(seed), Some(rate), calls).unwrap_err();
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn rate_zero_never_and_rate_one_always() {
        let never = plan("7", "0", None);
        let always = plan("7", "1", None);
        for n in 0..10_000 {
            for call in ALL_CALLS {
                assert_eq!(never.draw(call, n), None);
                assert!(always.draw(call, n).is_some());
            }
        }
    }

    #[test]
    fn the_rate_is_the_share_of_calls_that_fail_both_ways() {
        let p = plan("20261130", "0.1", None);
        let draws: Vec<_> = (0..100_000).map(|n| p.draw(Call::D1Write, n)).collect();
        let before = draws.iter().filter(|d| **d == Some(Fault::Before)).count();
        let after = draws.iter().filter(|d| **d == Some(Fault::After)).count();
        assert!(
            (9_500..10_500).contains(&(before + after)),
            "{before} + {after}"
        );
        assert!((4_500..5_500).contains(&before), "{before}");
    }

    #[test]
    fn one_seed_one_sequence_another_seed_another() {
        let seq = |seed: &str| -> Vec<_> {
            let p = plan(seed, "0.1", None);
            (0..2_000).map(|n| p.draw(Call::KvGet, n)).collect()
        };
        assert_eq!(seq("1"), seq("1"));
        assert_ne!(seq("1"), seq("2"));
    }

    #[test]
    fn only_the_chosen_calls_fail_and_only_the_chosen_way() {
        let p = plan("3", "1", Some("d1-write:after, kv-put:before"));
        for n in 0..1_000 {
            assert_eq!(p.draw(Call::D1Write, n), Some(Fault::After));
            assert_eq!(p.draw(Call::KvPut, n), Some(Fault::Before));
            for call in [Call::D1Read, Call::KvGet, Call::KvDelete] {
                assert_eq!(p.draw(call, n), None);
            }
        }
    }
}
