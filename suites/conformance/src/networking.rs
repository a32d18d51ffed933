//! Seamless distributed networking at the level of the lattice (catalogue NET-01): what one lattice
//! on a NATS server sees of another.

use crate::framework::T;
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use anyhow::ensure;
use harness::lattice::HostSpec;

/// NET-01: two lattices on one NATS server do not see each other.
pub static ISOLATION: ConformanceTest = ConformanceTest {
    name: "networking::lattices_on_one_nats_are_isolated",
    source: file!(),
    description: "a host of another lattice on the same NATS does not answer this lattice's ping, and links and config put here are not visible there",
    area: Area::Networking,
    features: &[Feature::ControlInterface, Feature::Links],
    covers: &["NET-01", "NET-02"],
    fixtures: &[],
    setup: Setup::hosts(1).needs_suite_lattice("adds hosts of its own"),
    run: isolation,
};

fn isolation(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let other = format!("{}-other", cx.lattice().name());
        let stranger = cx
            .lattice()
            .add_host_to(HostSpec::default(), &other)
            .await?;
        let ours = cx.ctl().get_hosts().await?;
        ensure!(
            ours.iter().all(|h| h.id() != stranger.id),
            "a host of lattice {other} answers this lattice's ping"
        );
        crate::steps::put_link(&cx, crate::steps::echo_link("here", "there", "default")?).await?;
        crate::steps::put_config(&cx, "ours", &[("k", "v")]).await?;
        let theirs = wasmcloud_control_interface::ClientBuilder::new(cx.lattice().nats().clone())
            .lattice(&other)
            .timeout(T.attempt)
            .auction_timeout(T.quiet)
            .build();
        let their_hosts = theirs
            .get_hosts()
            .await
            .map_err(|e| anyhow::anyhow!("ping {other}: {e}"))?;
        let ids: Vec<&str> = their_hosts
            .iter()
            .filter_map(|r| r.data())
            .map(|h| h.id())
            .collect();
        ensure!(
            ids == [stranger.id.as_str()],
            "lattice {other} is answered by {ids:?}"
        );
        let their_links = theirs
            .get_links()
            .await
            .map_err(|e| anyhow::anyhow!("link.get on {other}: {e}"))?;
        ensure!(
            their_links.data().is_none_or(|l| l.is_empty()),
            "a link put here is visible in {other}: {:?}",
            their_links.data()
        );
        let their_config = theirs
            .get_config("ours")
            .await
            .map_err(|e| anyhow::anyhow!("config.get on {other}: {e}"))?;
        ensure!(
            their_config.data().is_none(),
            "config put here is visible in {other}: {:?}",
            their_config.data()
        );
        Ok(())
    })
}

/// Every test of this module, in report order.
pub(crate) fn all() -> Vec<&'static ConformanceTest> {
    vec![&ISOLATION]
}
