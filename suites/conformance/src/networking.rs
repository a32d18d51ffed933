//! Seamless distributed networking at the level of the lattice (catalogue NET-01, Q-11): what one
//! lattice on a NATS server sees of another, and a lattice inside a JetStream domain.

mod resilience;

use crate::framework::T;
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use anyhow::{ensure, Context as _};
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
    let mut tests = vec![&ISOLATION, &JETSTREAM_DOMAIN];
    tests.extend(resilience::all());
    tests
}

const DOMAIN: &str = "wcc-edge";

/// with a JetStream domain, hosts and wadm keep their state in it, and a host given
/// another domain cannot join.
pub static JETSTREAM_DOMAIN: ConformanceTest = ConformanceTest {
    name: "networking::jetstream_domain_shared",
    source: file!(),
    description: "on a NATS server with JetStream domain wcc-edge, hosts and wadm given that domain report it (ping js_domain), keep config and lattice data in KV buckets of that domain with one replica, store and serve config, and deploy an application; a host given another domain does not start",
    area: Area::Networking,
    features: &[
        Feature::ControlInterface,
        Feature::Wadm,
        Feature::FileLoad,
    ],
    covers: &["Q-11", "CFG-02", "HL-05"],
    fixtures: &[crate::fixtures::PROBE_RUST],
    setup: Setup::hosts(2).with_wadm().jetstream_domain(DOMAIN),
    run: jetstream_domain,
};

fn jetstream_domain(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let hosts = cx.ctl().get_hosts().await?;
        ensure!(hosts.len() == 2, "{} host(s) answered ping", hosts.len());
        for h in &hosts {
            ensure!(
                h.js_domain() == Some(DOMAIN),
                "host {} reports js_domain {:?}, it was given {DOMAIN}",
                h.id(),
                h.js_domain()
            );
        }
        // The buckets, read through the domain's own API prefix ($JS.<domain>.API).
        let js = async_nats::jetstream::with_domain(cx.lattice().nats().clone(), DOMAIN);
        crate::steps::put_config(&cx, "in-domain", &[("k", "v")]).await?;
        for bucket in ["CONFIGDATA", "LATTICEDATA"] {
            let name = format!("{bucket}_{}", cx.lattice().name());
            let mut stream = js
                .get_stream(format!("KV_{name}"))
                .await
                .with_context(|| format!("bucket {name} in domain {DOMAIN}"))?;
            let info = stream
                .info()
                .await
                .with_context(|| format!("bucket {name}"))?;
            ensure!(
                info.config.num_replicas == 1,
                "bucket {name} has {} replicas (Q-11: the first host creates it with one)",
                info.config.num_replicas
            );
        }
        let config = cx
            .ctl()
            .get_config("in-domain")
            .await?
            .into_data()
            .context("config.get returned no map")?;
        ensure!(
            config.get("k").map(String::as_str) == Some("v"),
            "config.get in-domain: {config:?}"
        );
        let image = cx.image(crate::fixtures::PROBE_RUST)?;
        let m = harness::manifest::AppBuilder::new("domain-app", "v1")
            .component("worker", &image, 1)
            .build();
        cx.wadm().deploy_app(&m, T.deploy).await?;

        // A host of the lattice that was given another domain finds no JetStream there.
        let mut spec = HostSpec::default();
        spec.env
            .push(("WASMCLOUD_JS_DOMAIN".into(), "elsewhere".into()));
        match cx.lattice().add_host(spec).await {
            Ok(h) => anyhow::bail!(
                "a host given JetStream domain `elsewhere` started (host {}) on a server whose domain is {DOMAIN}",
                h.id
            ),
            Err(e) => {
                let e = e.to_string();
                ensure!(
                    e.contains("exited") && e.contains("jetstream unavailable"),
                    "a host given another JetStream domain must fail to start for want of JetStream there; it failed otherwise: {e}"
                );
            }
        }
        Ok(())
    })
}
