//! When each request of an open-loop run is meant to be sent: slot `i` at `start + i / rate`.
use std::time::{Duration, Instant};

/// A fixed-rate schedule of `total` slots.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    start: Instant,
    period_ns: f64,
    total: u64,
}

impl Schedule {
    /// `rate` requests per second for `duration`, the first at `start`.
    pub fn new(start: Instant, rate: f64, duration: Duration) -> Self {
        assert!(
            rate.is_finite() && rate > 0.0,
            "rate must be positive, got {rate}"
        );
        let total = (rate * duration.as_secs_f64()).floor() as u64;
        Self {
            start,
            period_ns: 1e9 / rate,
            total,
        }
    }

    /// How many slots the schedule has.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The first slot's time.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// The intended send time of slot `i`.
    pub fn intended(&self, i: u64) -> Instant {
        self.start + Duration::from_nanos((i as f64 * self.period_ns).round() as u64)
    }

    /// How many slots are due at `now` (intended at or before it), at most [`Schedule::total`].
    pub fn due(&self, now: Instant) -> u64 {
        if now < self.start {
            return 0;
        }
        let elapsed = now.duration_since(self.start).as_nanos() as f64;
        let mut n = (elapsed / self.period_ns).floor() as u64 + 1;
        // Guard the float rounding at slot boundaries against `intended`.
        while n > 0 && self.intended(n - 1) > now {
            n -= 1;
        }
        while n < self.total && self.intended(n) <= now {
            n += 1;
        }
        n.min(self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_evenly_spaced_from_the_start() {
        let t0 = Instant::now();
        let s = Schedule::new(t0, 1000.0, Duration::from_secs(2));
        assert_eq!(s.total(), 2000);
        assert_eq!(s.intended(0), t0);
        assert_eq!(s.intended(1), t0 + Duration::from_millis(1));
        assert_eq!(s.intended(1500), t0 + Duration::from_millis(1500));
        let s = Schedule::new(t0, 3.0, Duration::from_secs(1));
        assert_eq!(s.intended(1), t0 + Duration::from_nanos(333_333_333));
        assert_eq!(s.intended(2), t0 + Duration::from_nanos(666_666_667));
    }

    #[test]
    fn due_counts_slots_at_or_before_now() {
        let t0 = Instant::now() + Duration::from_secs(1);
        let s = Schedule::new(t0, 1000.0, Duration::from_secs(1));
        assert_eq!(s.due(t0 - Duration::from_nanos(1)), 0);
        assert_eq!(s.due(t0), 1);
        assert_eq!(s.due(t0 + Duration::from_micros(999)), 1);
        assert_eq!(s.due(t0 + Duration::from_millis(1)), 2);
        assert_eq!(s.due(t0 + Duration::from_secs(10)), 1000);
        for i in 0..1000u64 {
            assert_eq!(s.due(s.intended(i)), i + 1, "slot {i}");
        }
    }
}
