//! Claims the host must refuse: expired, not yet valid, or signed for another component (catalogue
//! SEC-01, SEC-02). That a signed component runs and its claims are published is
//! `host::signed_component_claims_published`.
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use crate::signing::{now, sign, signed_copy, write, Signed};
use anyhow::ensure;

use crate::fixtures::{PROBE_C, PROBE_RUST};

const FEATURES: &[Feature] = &[
    Feature::ControlInterface,
    Feature::LatticeEvents,
    Feature::FileLoad,
];

fn signed_probe(cx: &Cx, not_before: Option<u64>, expires: Option<u64>) -> anyhow::Result<Signed> {
    signed_copy(cx, PROBE_RUST, "signed-probe", not_before, expires)
}

async fn expect_scale_failure(cx: &Cx, path: &std::path::Path, id: &str) -> anyhow::Result<String> {
    crate::steps::scale_refused(
        cx,
        &cx.host_id(),
        &format!("file://{}", path.display()),
        id,
        vec![],
    )
    .await
}

/// SEC-02: expired and not-yet-valid claims are refused.
pub static EXPIRED: ConformanceTest = ConformanceTest {
    name: "security::expired_or_early_claims_refused",
    source: file!(),
    description: "a component whose claims expired, or are not valid yet, is refused with component_scale_failed naming the reason",
    area: Area::Security,
    features: FEATURES,
    covers: &["SEC-02", "HL-14"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1)
        .needs_suite_lattice("writes signed copies of fixtures into the lattice's shared folder"),
    run: expired,
};

fn expired(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let old = signed_probe(&cx, None, Some(now() - 3600))?;
        let error = expect_scale_failure(&cx, &old.path, "expired").await?;
        ensure!(
            error.contains("expired"),
            "expired claims refused with: {error:?}"
        );
        let early = signed_probe(&cx, Some(now() + 3600), None)?;
        let error = expect_scale_failure(&cx, &early.path, "too-early").await?;
        ensure!(
            error.contains("cannot be used before"),
            "not-yet-valid claims refused with: {error:?}"
        );
        Ok(())
    })
}

/// SEC-02: claims that do not match the component they are embedded in are refused.
pub static TAMPERED: ConformanceTest = ConformanceTest {
    name: "security::claims_of_another_component_refused",
    source: file!(),
    description: "claims signed for one component, grafted onto another (valid wasm, wrong hash), make the start fail",
    area: Area::Security,
    features: FEATURES,
    covers: &["SEC-02", "SEC-01"],
    fixtures: &[PROBE_RUST, PROBE_C],
    setup: Setup::hosts(1)
        .needs_suite_lattice("writes signed copies of fixtures into the lattice's shared folder"),
    run: tampered,
};

fn tampered(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let rust = std::fs::read(&cx.fixture(PROBE_RUST)?.path)?;
        let c = std::fs::read(&cx.fixture(PROBE_C)?.path)?;
        let (signed, _, _) = sign(&rust, "rust-probe", None, None)?;
        ensure!(
            signed.starts_with(&rust),
            "wascap did not append its section; this test cannot graft it"
        );
        let mut grafted = c.clone();
        grafted.extend_from_slice(&signed[rust.len()..]);
        let path = write(&cx, &grafted)?;
        let error = expect_scale_failure(&cx, &path, "grafted").await?;
        ensure!(!error.is_empty(), "no error text");
        Ok(())
    })
}

/// Every test of this module, in report order.
pub(crate) fn all() -> Vec<&'static ConformanceTest> {
    vec![&EXPIRED, &TAMPERED]
}
