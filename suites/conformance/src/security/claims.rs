//! Components signed with wascap claims, and what the host enforces on them (catalogue SEC-01,
//! SEC-02, NET-07).
use std::time::{SystemTime, UNIX_EPOCH};

use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use anyhow::{ensure, Context as _};
use nkeys::KeyPair;
use wascap::jwt::{Claims, Component};

use crate::fixtures::{PROBE_C, PROBE_RUST};

const FEATURES: &[Feature] = &[
    Feature::ControlInterface,
    Feature::LatticeEvents,
    Feature::FileLoad,
];

struct Signed {
    path: tempfile::TempPath,
    account: String,
    module: String,
}

/// Signs `wasm` with a fresh account and module key; `expires` / `not_before` in epoch seconds.
fn sign(
    wasm: &[u8],
    name: &str,
    not_before: Option<u64>,
    expires: Option<u64>,
) -> anyhow::Result<(Vec<u8>, String, String)> {
    let account = KeyPair::new_account();
    let module = KeyPair::new_module();
    let claims = Claims::<Component>::with_dates(
        name.to_string(),
        account.public_key(),
        module.public_key(),
        Some(vec!["conformance".to_string()]),
        not_before,
        expires,
        false,
        Some(3),
        Some("0.1.0".to_string()),
        None,
    );
    let signed = wascap::wasm::embed_claims(wasm, &claims, &account)
        .map_err(|e| anyhow::anyhow!("wascap embed_claims: {e}"))?;
    Ok((signed, account.public_key(), module.public_key()))
}

/// Writes `bytes` where the lattice's hosts can load it (containers see only what is mounted).
fn write(cx: &Cx, bytes: &[u8]) -> anyhow::Result<tempfile::TempPath> {
    let file = tempfile::Builder::new()
        .prefix("wcc-signed-")
        .suffix(".wasm")
        .tempfile_in(cx.lattice().shared_dir())?;
    std::fs::write(file.path(), bytes)?;
    Ok(file.into_temp_path())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn signed_probe(cx: &Cx, not_before: Option<u64>, expires: Option<u64>) -> anyhow::Result<Signed> {
    let wasm = std::fs::read(&cx.fixture(PROBE_RUST)?.path)?;
    let (bytes, account, module) = sign(&wasm, "signed-probe", not_before, expires)?;
    Ok(Signed {
        path: write(cx, &bytes)?,
        account,
        module,
    })
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

/// SEC-01 / NET-07 / NET-05: a signed component runs and its claims are published.
pub static SIGNED: ConformanceTest = ConformanceTest {
    name: "security::signed_component_claims_published",
    source: file!(),
    description: "a component signed with wascap claims runs; component_scaled carries its claims and module key, claims.get lists them, and the inventory shows the claims name",
    area: Area::Security,
    features: FEATURES,
    covers: &["SEC-01", "SEC-02", "NET-07", "NET-05", "HL-06"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1),
    run: signed,
};

fn signed(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let signed = signed_probe(&cx, None, Some(now() + 3600))?;
        let image = format!("file://{}", signed.path.display());
        let event = crate::steps::scale(&cx, &host, &image, "signed", 1).await?;
        let data = event.data();
        ensure!(
            data["public_key"] == signed.module.as_str(),
            "component_scaled public_key: {data}"
        );
        ensure!(
            data["claims"]["issuer"] == signed.account.as_str()
                && data["claims"]["name"] == "signed-probe",
            "component_scaled claims: {data}"
        );
        let claims = cx
            .ctl()
            .client()
            .get_claims()
            .await
            .map_err(|e| anyhow::anyhow!("claims.get: {e}"))?;
        let entries = claims.into_data().context("claims.get returned no list")?;
        let entry = entries
            .iter()
            .find(|c| c.get("sub").map(String::as_str) == Some(signed.module.as_str()))
            .with_context(|| {
                format!(
                    "claims.get does not list module {}: {entries:?}",
                    signed.module
                )
            })?;
        ensure!(
            entry.get("iss").map(String::as_str) == Some(signed.account.as_str())
                && entry.get("name").map(String::as_str) == Some("signed-probe"),
            "claims entry: {entry:?}"
        );
        let inv = crate::steps::inventory(&cx, &host).await?;
        let c = inv
            .components()
            .iter()
            .find(|c| c.id() == "signed")
            .context("signed component not in inventory")?;
        ensure!(
            c.name() == Some("signed-probe"),
            "inventory name: {:?}",
            c.name()
        );
        Ok(())
    })
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
    setup: Setup::hosts(1),
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
    setup: Setup::hosts(1),
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
    vec![&SIGNED, &EXPIRED, &TAMPERED]
}
