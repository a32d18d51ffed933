//! How a conformance test draws generated inputs (proptest strategies) for a property checked
//! against a live lattice: how many cases (`WCC_PROPTEST_CASES`, default 32) and from which seed
//! (`WCC_PROPTEST_SEED`, default a fresh random one). The seed and the count go into every failure
//! message, so a failing run is repeated exactly with the same variables. Cases are drawn up front
//! and sent one after another; a failing case is reported as drawn (no shrinking: each case costs
//! a round trip to the lattice).
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// How many cases each property draws.
pub const CASES_ENV: &str = "WCC_PROPTEST_CASES";
/// The seed cases are drawn from (a u64; random when unset).
pub const SEED_ENV: &str = "WCC_PROPTEST_SEED";
/// Cases per property when `WCC_PROPTEST_CASES` is unset: bounded so CI stays quick.
pub const DEFAULT_CASES: u32 = 32;

/// Cases drawn from one seed.
pub struct Draw {
    /// The seed (repeat a run with `WCC_PROPTEST_SEED=<seed>`).
    pub seed: u64,
    /// How many cases.
    pub cases: u32,
    runner: TestRunner,
}

/// Parses the two variables' values (`None` when unset); errors name the variable.
pub fn parse(cases: Option<&str>, seed: Option<&str>) -> Result<(u32, Option<u64>), String> {
    let cases = match cases.map(str::trim) {
        None | Some("") => DEFAULT_CASES,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(format!(
                    "{CASES_ENV}={text:?}: expected a whole number of cases above 0"
                ))
            }
        },
    };
    let seed = match seed.map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            format!(
                "{SEED_ENV}={text:?}: expected a seed between 0 and {}",
                u64::MAX
            )
        })?),
    };
    Ok((cases, seed))
}

impl Draw {
    /// From `WCC_PROPTEST_CASES` and `WCC_PROPTEST_SEED`; a bad value is an error naming it.
    pub fn from_env() -> anyhow::Result<Self> {
        let (cases, seed) = parse(
            std::env::var(CASES_ENV).ok().as_deref(),
            std::env::var(SEED_ENV).ok().as_deref(),
        )
        .map_err(anyhow::Error::msg)?;
        Ok(Self::new(cases, seed.unwrap_or_else(rand_seed)))
    }

    /// `cases` cases from `seed`.
    pub fn new(cases: u32, seed: u64) -> Self {
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&seed.to_le_bytes());
        }
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
        Self {
            seed,
            cases,
            runner: TestRunner::new_with_rng(Config::default(), rng),
        }
    }

    /// The cases, in the order to send them.
    pub fn values<S: Strategy>(&mut self, strategy: &S) -> anyhow::Result<Vec<S::Value>> {
        (0..self.cases)
            .map(|_| {
                strategy
                    .new_tree(&mut self.runner)
                    .map(|tree| tree.current())
                    .map_err(|e| anyhow::anyhow!("drawing a case: {e}"))
            })
            .collect()
    }

    /// What a failure message says to repeat the run.
    pub fn repeat(&self) -> String {
        format!(
            "{} cases from seed {} (repeat with {SEED_ENV}={} {CASES_ENV}={})",
            self.cases, self.seed, self.seed, self.cases
        )
    }
}

/// Strings as no one picks them by hand: any Unicode up to `max` characters (NUL, controls,
/// astral-plane and combining characters included), the empty string, a few known troublemakers,
/// and now and then one character repeated up to `long` times.
pub fn text(max: usize, long: usize) -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::collection::vec(any::<char>(), 0..=max).prop_map(|c| c.into_iter().collect()),
        2 => "[a-zA-Z0-9_.:/ -]{0,16}",
        1 => prop::sample::select(vec!["", "\0", "a\0b", "\u{10FFFF}", "😀🦀", "e\u{301}", "\u{FEFF}", "\r\n"])
            .prop_map(String::from),
        1 => (1..=long.max(1)).prop_map(|n| "v".repeat(n)),
    ]
    .boxed()
}

/// A seed from the clock and the process id, kept so it can be reported.
fn rand_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variables_are_read_or_refused_by_name() {
        assert_eq!(parse(None, None), Ok((DEFAULT_CASES, None)));
        assert_eq!(parse(Some("200"), Some("7")), Ok((200, Some(7))));
        assert!(parse(Some("0"), None).unwrap_err().contains(CASES_ENV));
        assert!(parse(Some("many"), None).unwrap_err().contains(CASES_ENV));
        assert!(parse(None, Some("-1")).unwrap_err().contains(SEED_ENV));
    }

    #[test]
    fn one_seed_draws_the_same_cases() {
        let strategy = prop::collection::vec(any::<u8>(), 0..64);
        let a = Draw::new(16, 99).values(&strategy).unwrap();
        let b = Draw::new(16, 99).values(&strategy).unwrap();
        let c = Draw::new(16, 100).values(&strategy).unwrap();
        assert_eq!(a.len(), 16);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(Draw::new(16, 99).repeat().contains("WCC_PROPTEST_SEED=99"));
    }
}
