//! How a conformance test draws generated inputs (proptest strategies) for a property checked
//! against a live lattice: how many cases (`WCC_PROPTEST_CASES`, default 32) and from which seed
//! (`WCC_PROPTEST_SEED`, default a fresh random one). The seed and the count go into every failure
//! message, so a failing run is repeated exactly with the same variables. Cases are drawn up front
//! and sent one after another. A test whose cases are cheap can shrink a failing one: draw its
//! value tree again ([`Draw::tree`]) and walk it with [`shrink`], each step checked on the
//! lattice.
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

    /// The value tree of case `index` (0-based), drawn again from the seed: its current value is
    /// `values(..)[index]` of a fresh draw with this seed and count.
    pub fn tree<S: Strategy>(&self, strategy: &S, index: usize) -> anyhow::Result<S::Tree> {
        let mut again = Self::new(self.cases, self.seed);
        let mut tree = None;
        for _ in 0..=index {
            tree = Some(
                strategy
                    .new_tree(&mut again.runner)
                    .map_err(|e| anyhow::anyhow!("drawing a case: {e}"))?,
            );
        }
        tree.ok_or_else(|| anyhow::anyhow!("no case {index}"))
    }

    /// What a failure message says to repeat the run.
    pub fn repeat(&self) -> String {
        format!(
            "{} cases from seed {} (repeat with {SEED_ENV}={} {CASES_ENV}={})",
            self.cases, self.seed, self.seed, self.cases
        )
    }
}

/// The characters of plain words in [`text`].
const PLAIN: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/ -";

/// Strings as no one picks them by hand: any Unicode up to `max` characters (NUL, controls,
/// astral-plane and combining characters included), the empty string, a few known troublemakers,
/// and now and then one character repeated up to `long` times.
pub fn text(max: usize, long: usize) -> impl Strategy<Value = String, Tree: Send> + Send + Sync {
    prop_oneof![
        4 => prop::collection::vec(any::<char>(), 0..=max).prop_map(|c| c.into_iter().collect()),
        // Plain words (no regex strategy: its value tree cannot cross threads, and a test's
        // future must be Send while it shrinks).
        2 => prop::collection::vec(prop::sample::select(PLAIN.chars().collect::<Vec<_>>()), 0..=16)
            .prop_map(|c| c.into_iter().collect()),
        1 => prop::sample::select(vec!["", "\0", "a\0b", "\u{10FFFF}", "😀🦀", "e\u{301}", "\u{FEFF}", "\r\n"])
            .prop_map(String::from),
        1 => (1..=long.max(1)).prop_map(|n| "v".repeat(n)),
    ]
}

/// A string for a failure message: quoted, cut after `max` characters, with its length when cut
/// (a 4 KiB generated value makes an unreadable message).
pub fn short(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n > max {
        format!("{:?}…({n} chars)", s.chars().take(max).collect::<String>())
    } else {
        format!("{s:?}")
    }
}

/// Any value for a failure message: its debug form, cut after `max` characters.
pub fn shown(value: &impl std::fmt::Debug, max: usize) -> String {
    let text = format!("{value:?}");
    let n = text.chars().count();
    if n > max {
        format!("{}…({n} chars)", text.chars().take(max).collect::<String>())
    } else {
        text
    }
}

/// At most this many shrink steps, each one check against the lattice.
pub const MAX_SHRINK_STEPS: u32 = 200;

/// A failing case made as simple as the strategy allows: proptest's walk (simplify after a
/// failure, complicate after a pass), each step checked by `fails` (the failure, or `None` when
/// the value passes), at most [`MAX_SHRINK_STEPS`] steps. Returns the simplest failing value
/// found, its failure, and the steps taken.
pub async fn shrink<T, F, Fut>(
    mut tree: T,
    failure: String,
    mut fails: F,
) -> (T::Value, String, u32)
where
    T: ValueTree,
    T::Value: Clone,
    F: FnMut(T::Value) -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    let mut simplest = (tree.current(), failure);
    let mut passed = false;
    let mut steps = 0;
    while steps < MAX_SHRINK_STEPS {
        let moved = if passed {
            tree.complicate()
        } else {
            tree.simplify()
        };
        if !moved {
            break;
        }
        steps += 1;
        let value = tree.current();
        match fails(value.clone()).await {
            Some(failure) => {
                simplest = (value, failure);
                passed = false;
            }
            None => passed = true,
        }
    }
    (simplest.0, simplest.1, steps)
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
        for (i, value) in a.iter().enumerate() {
            let tree = Draw::new(16, 99).tree(&strategy, i).unwrap();
            assert_eq!(&tree.current(), value, "tree {i} is case {i}");
        }
    }

    #[tokio::test]
    async fn shrinking_finds_the_simplest_failing_value() {
        // Fails for every list holding a byte above 100: the simplest is one byte of 101.
        let strategy = prop::collection::vec(any::<u8>(), 0..64);
        let fails = |v: Vec<u8>| async move {
            v.iter()
                .any(|b| *b > 100)
                .then(|| format!("{v:?} has a byte above 100"))
        };
        let draw = Draw::new(64, 7);
        let cases = Draw::new(64, 7).values(&strategy).unwrap();
        let i = cases
            .iter()
            .position(|v| v.iter().any(|b| *b > 100))
            .expect("some case fails");
        let tree = draw.tree(&strategy, i).unwrap();
        let (value, failure, steps) = shrink(tree, "first".into(), fails).await;
        assert_eq!(value, vec![101], "after {steps} steps: {failure}");
        assert!(steps <= MAX_SHRINK_STEPS);
    }
}
