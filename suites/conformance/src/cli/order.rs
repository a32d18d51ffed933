//! The order a run executes its tests in: a seeded shuffle, and the random seeds (also the random
//! part of a run id) behind it.

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

#[cfg(test)]
mod tests {
    use super::*;

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
