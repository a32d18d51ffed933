//! wadm in multitenant mode (catalogue ORC-18): its API answers under `<account>.wadm.api` and
//! nowhere else; where it publishes an account's application status is recorded. A multitenant
//! wadm that does not start at all against the lattice's NATS is recorded as an observation.
use anyhow::{ensure, Context as _};
use futures::StreamExt as _;
use harness::manifest::AppBuilder;

use crate::fixtures::PROBE_RUST;
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture, T};

const TENANT: &str = "TENANTA";

/// ORC-18: the API under the account, the status subject observed.
pub static API_UNDER_ACCOUNT: ConformanceTest = ConformanceTest {
    name: "orchestration::multitenant_api_under_account",
    source: file!(),
    description: "a wadm started with WADM_MULTITENANT takes model.put, deploy and list under <account>.wadm.api, lists what that account put, and does not answer under wadm.api; the status of the account's application is published, and whether on an account-prefixed subject or on wadm.status.<lattice>.<app> is recorded as an observation; a wadm that exits at start in this mode is recorded as an observation with its error",
    area: Area::Orchestration,
    features: &[Feature::Wadm, Feature::ControlInterface],
    covers: &["ORC-18"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1).needs_suite_lattice("starts a wadm of its own"),
    run: api_under_account,
};

fn api_under_account(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let extra = [("WADM_MULTITENANT".to_string(), "true".to_string())];
        let prefix = format!("{TENANT}.wadm.api");
        let (_wadm, api) = match cx.lattice().add_wadm(&extra, Some(&prefix)).await {
            Ok(started) => started,
            Err(e) => {
                let e = e.to_string();
                let why = e
                    .lines()
                    .find(|l| l.contains("failed to run wadm"))
                    .with_context(|| format!("the multitenant wadm did not come up: {e}"))?;
                cx.observe(format!(
                    "wadm in multitenant mode (WADM_MULTITENANT=true) exits at start on this lattice's NATS: {} (catalogue ORC-18)",
                    why.trim()
                ));
                return Ok(());
            }
        };
        let nats = cx.lattice().nats();
        let lattice = cx.lattice().name().to_string();
        let mut plain = nats.subscribe(format!("wadm.status.{lattice}.>")).await?;
        let mut prefixed = nats
            .subscribe(format!("{TENANT}.wadm.status.{lattice}.>"))
            .await?;
        nats.flush().await?;

        let image = cx.image(PROBE_RUST)?;
        let manifest = AppBuilder::new("tenant-app", "v0.1.0")
            .component("greeter", &image, 1)
            .build();
        api.put(&manifest)
            .await
            .context("model.put under the account")?;
        api.deploy("tenant-app", None)
            .await
            .context("deploy under the account")?;
        let listed = api.list().await.context("model.list under the account")?;
        ensure!(
            listed.iter().any(|m| m.name == "tenant-app"),
            "model.list under {TENANT}.wadm.api does not list the account's application: {:?}",
            listed.iter().map(|m| &m.name).collect::<Vec<_>>()
        );
        let unprefixed = format!("wadm.api.{lattice}.model.list");
        let answer = crate::steps::raw_request(&cx, unprefixed.clone(), Vec::new()).await;
        ensure!(
            answer.is_err(),
            "a multitenant wadm answered on {unprefixed}: {answer:?}"
        );

        let (subject, body) = tokio::time::timeout(T.deploy, async {
            tokio::select! {
                Some(m) = plain.next() => (m.subject.to_string(), m.payload),
                Some(m) = prefixed.next() => (m.subject.to_string(), m.payload),
            }
        })
        .await
        .with_context(|| {
            format!(
                "no status of tenant-app within {:?} on wadm.status.{lattice}.> or {TENANT}.wadm.status.{lattice}.>",
                T.deploy
            )
        })?;
        ensure!(
            subject.ends_with(".tenant-app"),
            "a status on {subject} is not the account's application's: {}",
            String::from_utf8_lossy(&body)
        );
        if subject.starts_with("wadm.status.") {
            cx.observe(format!(
                "a multitenant wadm publishes the status of account {TENANT}'s application on the unprefixed {subject}: status subjects are not per account (catalogue ORC-18)"
            ));
        }
        Ok(())
    })
}
