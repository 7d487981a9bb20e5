//! A check that a property's generator reaches both sides of its rule: a property whose
//! cases are all accepted (or all refused) passes without testing half of what it claims.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

/// Draws 2,000 values of `strategy` on a fixed seed and panics unless at least `least`
/// (a share, 0 to 1) of them satisfy `accepted` and at least `least` do not.
pub fn assert_both_sides<S: Strategy>(
    what: &str,
    strategy: S,
    least: f64,
    accepted: impl Fn(&S::Value) -> bool,
) {
    const DRAWS: usize = 2_000;
    let mut runner = TestRunner::deterministic();
    let yes = (0..DRAWS)
        .filter(|_| {
            let tree = strategy
                .new_tree(&mut runner)
                .unwrap_or_else(|e| panic!("{what}: the generator failed: {e}"));
            accepted(&tree.current())
        })
        .count();
    let share = yes as f64 / DRAWS as f64;
    assert!(
        share >= least && 1.0 - share >= least,
        "{what}: {share:.3} of the cases are accepted; each side needs at least {least}"
    );
}
