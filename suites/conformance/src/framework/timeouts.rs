//! The named time budgets of the conformance tests, in one place: a test body says what it waits
//! for (`T.event`, `T.deploy`), not how many seconds. The values are unscaled: `Wait`,
//! `harness::wrpc::call` and `harness::wait::scaled` multiply them by `WCC_TIMEOUT_SCALE`.
use std::time::Duration;

/// The budgets (see [`T`] for the values). A budget bounds a wait that converges on a condition;
/// `quiet` is the other kind, a window in which something must *not* happen.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// A lattice event that an action publishes at once (config, labels, links).
    pub event: Duration,
    /// A host or a provider starting or stopping, as its events show.
    pub service: Duration,
    /// A component scaled on a host (its first start compiles it).
    pub component: Duration,
    /// The same for the large components (Python, JavaScript: 12–18 MB) on a busy 2-core machine.
    pub large_component: Duration,
    /// The lattice converging after a change: calls through links, config reaching a component,
    /// a route starting or stopping to answer, a host's log showing a line.
    pub converge: Duration,
    /// A host's inventory showing what was started on it (large components included).
    pub inventory: Duration,
    /// wadm reporting an application's status.
    pub deploy: Duration,
    /// wadm deploying what first needs a provider to start or a host to join.
    pub slow_deploy: Duration,
    /// One wRPC call that should answer (as `harness::wrpc::CALL_TIMEOUT`).
    pub call: Duration,
    /// One attempt (a call, a request) inside a wait that tries again.
    pub attempt: Duration,
    /// A telemetry export reaching the OTLP receiver.
    pub telemetry: Duration,
    /// A window in which something must not happen (an export, an answer from another lattice,
    /// a remote component answering): longer makes the check stronger, never weaker.
    pub quiet: Duration,
    /// A process's graceful stop before it is killed.
    pub grace: Duration,
}

/// The budgets every test uses.
pub const T: Timeouts = Timeouts {
    event: Duration::from_secs(10),
    service: Duration::from_secs(30),
    component: Duration::from_secs(30),
    large_component: Duration::from_secs(120),
    converge: Duration::from_secs(30),
    inventory: Duration::from_secs(60),
    deploy: Duration::from_secs(60),
    slow_deploy: Duration::from_secs(90),
    call: harness::wrpc::CALL_TIMEOUT,
    attempt: Duration::from_secs(10),
    telemetry: Duration::from_secs(30),
    quiet: Duration::from_secs(4),
    grace: Duration::from_secs(15),
};

#[cfg(test)]
mod tests {
    use super::T;

    #[test]
    fn budgets_nest_as_the_waits_do() {
        // An attempt fits in the wait that repeats it; a deploy outlasts a component start.
        assert!(T.attempt < T.converge && T.quiet < T.attempt);
        assert!(T.event <= T.service && T.component <= T.large_component);
        assert!(T.component < T.deploy && T.deploy < T.slow_deploy);
        assert!(T.call <= T.converge);
    }
}
