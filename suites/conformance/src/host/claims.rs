//! A signed component runs and its claims are published (catalogue SEC-01, SEC-02, NET-05,
//! NET-07, HL-06); the claims the host must refuse are `security::`'s.
use anyhow::{ensure, Context as _};

use crate::fixtures::PROBE_RUST;
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use crate::signing::{now, signed_copy};

/// SEC-01 / NET-07 / NET-05: a signed component runs and its claims are published.
pub static SIGNED: ConformanceTest = ConformanceTest {
    name: "host::signed_component_claims_published",
    source: file!(),
    description: "a component signed with wascap claims runs; component_scaled carries its claims and module key, claims.get lists them, and the inventory shows the claims name",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad],
    covers: &["SEC-01", "SEC-02", "NET-07", "NET-05", "HL-06"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1)
        .needs_suite_lattice("writes signed copies of fixtures into the lattice's shared folder"),
    run: signed,
};

fn signed(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let signed = signed_copy(&cx, PROBE_RUST, "signed-probe", None, Some(now() + 3600))?;
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
