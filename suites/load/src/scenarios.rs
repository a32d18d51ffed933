//! Setting up the scenarios on a real lattice: components scaled through the control interface,
//! HTTP servers (builtin and provider) linked to the HTTP fixture, wRPC callers, and the timed
//! scenarios (cold start, host start, scaling through wadm and directly, recovery).
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _};
use harness::wait::{Probe, Wait};
use harness::Lattice;

use crate::bindings::{echo, runner};
use crate::ready::wait_http;

/// Scales `id` from `image` to `count` on `host` and waits for its `component_scaled`.
pub async fn scale(
    lattice: &Lattice,
    host: &str,
    image: &str,
    id: &str,
    count: u32,
) -> anyhow::Result<()> {
    let mark = lattice.journal().mark();
    let ack = lattice
        .ctl()
        .scale_component(host, image, id, count, None, vec![])
        .await?;
    ensure!(ack.succeeded(), "scale {id}: {}", ack.message());
    lattice
        .journal()
        .wait_for(mark, "component_scaled", id, Duration::from_secs(60), |e| {
            e.field("component_id") == Some(id)
        })
        .await?;
    Ok(())
}

fn link(
    source: &str,
    target: &str,
    ns: &str,
    pkg: &str,
    iface: &str,
    source_config: &[&str],
) -> anyhow::Result<wasmcloud_control_interface::Link> {
    wasmcloud_control_interface::Link::builder()
        .source_id(source)
        .target(target)
        .name("default")
        .wit_namespace(ns)
        .wit_package(pkg)
        .interfaces(vec![iface.to_string()])
        .source_config(source_config.iter().map(ToString::to_string).collect())
        .build()
        .map_err(|e| anyhow::anyhow!("link {source} -> {target}: {e}"))
}

/// Puts `link` and checks the ack.
async fn put_link(lattice: &Lattice, l: wasmcloud_control_interface::Link) -> anyhow::Result<()> {
    let put = lattice.ctl().put_link(l).await?;
    ensure!(put.succeeded(), "link.put: {}", put.message());
    Ok(())
}

/// Serves component `id` (already scaled on `host`) through an HTTP server provider started from
/// `provider_ref` as `provider_id`; returns the listen address once GET answers the greeting.
pub async fn http_server(
    lattice: &Lattice,
    host: &str,
    provider_ref: &str,
    provider_id: &str,
    id: &str,
) -> anyhow::Result<String> {
    let address = format!("127.0.0.1:{}", harness::net::free_port()?);
    let config = format!("listen-{provider_id}");
    let put = lattice
        .ctl()
        .put_config(
            &config,
            BTreeMap::from([("address".to_string(), address.clone())]),
        )
        .await?;
    ensure!(put.succeeded(), "config.put: {}", put.message());
    // The link goes in before the provider starts, so it reaches the provider with the links it
    // is started with. A link put right after `provider_started` can be lost: the host forwards
    // it on NATS before the provider has subscribed (seen with host 0.27.1: the provider never
    // logged "Linking component" and its listener never opened).
    put_link(
        lattice,
        link(
            provider_id,
            id,
            "wasi",
            "http",
            "incoming-handler",
            &[&config],
        )?,
    )
    .await?;
    let mark = lattice.journal().mark();
    let started = lattice
        .ctl()
        .start_provider(host, provider_ref, provider_id, vec![])
        .await?;
    ensure!(
        started.succeeded(),
        "provider.start {provider_ref}: {}",
        started.message()
    );
    lattice
        .journal()
        .wait_for(
            mark,
            "provider_started",
            provider_id,
            Duration::from_secs(60),
            |e| e.field("provider_id") == Some(provider_id),
        )
        .await?;
    wait_http(&address, crate::anchors::HELLO, Duration::from_secs(60)).await?;
    Ok(address)
}

/// A wRPC client of `id` once its `echo` answers.
pub async fn echo_client(
    lattice: &Lattice,
    id: &str,
) -> anyhow::Result<Arc<wrpc_transport_nats::Client>> {
    let client = Arc::new(lattice.wrpc_client(id).await?);
    let c = &client;
    Wait::new(format!("{id} to answer echo"), Duration::from_secs(60))
        .interval(Duration::from_millis(5))
        .until(|_| async move {
            match tokio::time::timeout(Duration::from_secs(5), echo::echo(c.as_ref(), None, "ping"))
                .await
            {
                Ok(Ok(a)) if a == "ping" => Probe::Ready(()),
                Ok(Ok(a)) => Probe::NotYet(format!("answered {a:?}")),
                Ok(Err(e)) => Probe::NotYet(format!("{e:#}")),
                Err(_) => Probe::NotYet("no answer within 5 s".into()),
            }
        })
        .await?;
    Ok(client)
}

/// Links runner `runner_id` to echo `echo_id`; a wRPC client of the runner once a call through
/// the link answers.
pub async fn runner_client(
    lattice: &Lattice,
    runner_id: &str,
    echo_id: &str,
) -> anyhow::Result<Arc<wrpc_transport_nats::Client>> {
    put_link(
        lattice,
        link(runner_id, echo_id, "test", "fixtures", "echo", &[])?,
    )
    .await?;
    let client = Arc::new(lattice.wrpc_client(runner_id).await?);
    let c = &client;
    Wait::new(
        format!("{runner_id} to reach {echo_id} through the link"),
        Duration::from_secs(60),
    )
    .interval(Duration::from_millis(20))
    .consecutive(3)
    .until(|_| async move {
        match tokio::time::timeout(
            Duration::from_secs(5),
            runner::run(c.as_ref(), None, "ping"),
        )
        .await
        {
            Ok(Ok(a)) if a == "ping" => Probe::Ready(()),
            Ok(Ok(a)) => Probe::NotYet(format!("answered {a:?}")),
            Ok(Err(e)) => Probe::NotYet(format!("{e:#}")),
            Err(_) => Probe::NotYet("no answer within 5 s".into()),
        }
    })
    .await?;
    Ok(client)
}

/// Cold start: from the scale request of a new component to its first answer over wRPC.
pub async fn cold_start(
    lattice: &Lattice,
    host: &str,
    image: &str,
    id: &str,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let ack = lattice
        .ctl()
        .scale_component(host, image, id, 1, None, vec![])
        .await?;
    ensure!(ack.succeeded(), "scale {id}: {}", ack.message());
    echo_client(lattice, id).await?;
    Ok(start.elapsed())
}

/// Host start: from launching a host to its `host_started` (the harness's readiness).
pub async fn host_start(lattice: &Lattice) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let host = lattice
        .add_host(harness::lattice::HostSpec::default())
        .await?;
    let took = start.elapsed();
    drop(host);
    Ok(took)
}

/// Sum of `max_instances` of components whose id starts with `prefix`, per host (hosts that do
/// not answer within a second count zero).
pub async fn instances(lattice: &Lattice, hosts: &[String], prefix: &str) -> Vec<usize> {
    let ctl = lattice.ctl().with_timeout(Duration::from_secs(1));
    let mut counts = Vec::new();
    for h in hosts {
        let n = match ctl.get_host_inventory(h).await {
            Ok(reply) => reply
                .data()
                .map(|inv| {
                    inv.components()
                        .iter()
                        .filter(|c| c.id().starts_with(prefix))
                        .map(|c| c.max_instances() as usize)
                        .sum()
                })
                .unwrap_or(0),
            Err(_) => 0,
        };
        counts.push(n);
    }
    counts
}

/// Waits until `hosts` run `total` instances of components named `prefix*`, each host some.
pub async fn wait_instances(
    lattice: &Lattice,
    hosts: &[String],
    prefix: &str,
    total: usize,
    timeout: Duration,
) -> anyhow::Result<()> {
    Wait::new(
        format!("{total} instances of {prefix}* over {} hosts", hosts.len()),
        timeout,
    )
    .interval(Duration::from_millis(20))
    .until(|_| async move {
        let counts = instances(lattice, hosts, prefix).await;
        if counts.iter().sum::<usize>() == total && counts.iter().all(|n| *n > 0) {
            Probe::Ready(())
        } else {
            Probe::NotYet(format!("instances per host {counts:?}"))
        }
    })
    .await?;
    Ok(())
}

/// Scaling through the control interface directly: `total` instances split over the hosts.
pub async fn scale_direct(
    lattice: &Lattice,
    hosts: &[(String, String)],
    image: &str,
    id: &str,
    total: usize,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let per = (total / hosts.len()) as u32;
    for (host, _) in hosts {
        let ack = lattice
            .ctl()
            .scale_component(host, image, id, per, None, vec![])
            .await?;
        ensure!(ack.succeeded(), "scale {id} on {host}: {}", ack.message());
    }
    let ids: Vec<String> = hosts.iter().map(|(h, _)| h.clone()).collect();
    wait_instances(
        lattice,
        &ids,
        id,
        per as usize * hosts.len(),
        Duration::from_secs(120),
    )
    .await?;
    Ok(start.elapsed())
}

/// Scaling through wadm: an application spreading `total` instances evenly over the hosts (by
/// their `zone` label); from model.put to every instance running.
pub async fn scale_wadm(
    lattice: &Lattice,
    hosts: &[(String, String)],
    image: &str,
    app: &str,
    total: usize,
) -> anyhow::Result<Duration> {
    let spreads: Vec<(String, [(&str, &str); 1])> = hosts
        .iter()
        .map(|(_, zone)| (zone.clone(), [("zone", zone.as_str())]))
        .collect();
    let spread_refs: Vec<_> = spreads
        .iter()
        .map(|(n, r)| (n.as_str(), &r[..], 1))
        .collect();
    let manifest = harness::manifest::AppBuilder::new(app, "v1")
        .component_spread("echo", image, total, &spread_refs)
        .build();
    let start = Instant::now();
    lattice.wadm().put(&manifest).await.context("model.put")?;
    lattice
        .wadm()
        .deploy(app, None)
        .await
        .context("model.deploy")?;
    let ids: Vec<String> = hosts.iter().map(|(h, _)| h.clone()).collect();
    wait_instances(lattice, &ids, app, total, Duration::from_secs(120)).await?;
    Ok(start.elapsed())
}
