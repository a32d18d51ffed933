//! The order a run executes its tests in: a seeded shuffle into units (a test alone, or the tests
//! of one share group on one lattice), and the random seeds (also the random part of a run id)
//! behind it.
use conformance_suite::framework::ConformanceTest;

/// Seeds fit in 53 bits so that every JSON reader keeps them exact.
pub(crate) const SEED_MASK: u64 = (1 << 53) - 1;

/// A fresh random seed (std's per-process random hasher keys, the clock and the pid).
pub(crate) fn random_seed() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write_u32(std::process::id());
    h.finish() & SEED_MASK
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The order tests run in: a Fisher–Yates shuffle of `0..n` driven by `seed` (same seed, same order).
pub(crate) fn execution_order(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed;
    for i in (1..n).rev() {
        let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// Lattices a run keeps going at once by default: two per CPU core, at most 16. A test spends
/// much of its time waiting on the lattice (heartbeats, events, timeouts) and the rest mostly in
/// its hosts compiling components: on 2 cores, 4 at once keep the CPU busy (measured before
/// sharing, extended profile: 260 s at 2; 175 s at 4, with 340 of 355 possible CPU-seconds used).
pub(crate) fn default_jobs() -> u16 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    u16::try_from(cores * 2).unwrap_or(16).clamp(1, 16)
}

/// `run`'s default `--jobs` on `backend`: [`default_jobs`] for processes; 2 for containers, as
/// before, since Docker 20.10 deadlocked once under concurrent container starts and network
/// changes (see `ci/test`).
pub(crate) fn default_jobs_for(backend: harness::Backend) -> u16 {
    match backend {
        harness::Backend::Processes => default_jobs(),
        harness::Backend::Containers => 2,
    }
}

/// What the run executes: each unit one lattice, either one test or the tests of one share group
/// ([`conformance_suite::framework::Setup::shared`]). The tests run in `seed`'s order inside
/// their units; the share groups go first (largest first: each is several tests in a row, the
/// longest units of a run, so they must not be left for its end), then the tests alone in
/// `seed`'s order. With `share` false (an existing lattice, where every test runs alone) each test
/// is its own unit, in `seed`'s order. Indices into `tests`.
pub(crate) fn execution_units(
    tests: &[&ConformanceTest],
    seed: u64,
    share: bool,
) -> Vec<Vec<usize>> {
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut alone = Vec::new();
    for i in execution_order(tests.len(), seed) {
        match tests[i].setup.share.filter(|_| share) {
            Some(group) => match groups.iter_mut().find(|(g, _)| *g == group) {
                Some((_, unit)) => unit.push(i),
                None => groups.push((group, vec![i])),
            },
            None => alone.push(vec![i]),
        }
    }
    // Stable: groups of one size keep the order their first test drew.
    groups.sort_by_key(|(_, unit)| std::cmp::Reverse(unit.len()));
    groups
        .into_iter()
        .map(|(_, unit)| unit)
        .chain(alone)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_groups_become_one_unit_each_and_the_rest_run_alone() {
        let all = conformance_suite::registry();
        let units = execution_units(&all, 11, true);
        let mut seen: Vec<usize> = units.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..all.len()).collect::<Vec<_>>(), "every test once");
        let grouped = units.iter().take_while(|u| all[u[0]].setup.share.is_some());
        assert!(
            grouped.count() > 0,
            "the suite has share groups, and they come first"
        );
        for unit in &units {
            let first = all[unit[0]];
            for &i in unit {
                let t = all[i];
                assert_eq!(t.setup.share, first.setup.share, "{}", t.name);
                assert_eq!(
                    t.setup.lattice_part(),
                    first.setup.lattice_part(),
                    "{} and {} share a lattice, so their lattice setups must agree",
                    t.name,
                    first.name
                );
            }
        }
        let groups: std::collections::HashSet<_> =
            all.iter().filter_map(|t| t.setup.share).collect();
        let multi = units.iter().filter(|u| all[u[0]].setup.share.is_some());
        assert_eq!(multi.count(), groups.len(), "one unit per group");
        let again = execution_units(&all, 11, true);
        assert_eq!(units, again, "the seed fixes the units and their order");
        let alone = execution_units(&all, 11, false);
        assert_eq!(alone.len(), all.len(), "no sharing: one unit per test");
        assert!(alone.iter().all(|u| u.len() == 1));
    }

    #[test]
    fn jobs_default_to_two_per_core_on_processes_and_two_on_containers() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let jobs = usize::from(default_jobs_for(harness::Backend::Processes));
        assert_eq!(jobs, (cores * 2).clamp(1, 16));
        assert_eq!(default_jobs_for(harness::Backend::Containers), 2);
    }

    #[test]
    fn the_seed_fixes_the_order() {
        let a = execution_order(10, 7);
        assert_eq!(a, execution_order(10, 7));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>(), "a permutation");
        assert!(
            (0..20).any(|s| execution_order(10, s) != a),
            "seeds give different orders"
        );
        assert_eq!(execution_order(0, 1), Vec::<usize>::new());
        assert!(random_seed() <= SEED_MASK);
    }
}
