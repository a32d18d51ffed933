//! How a lattice behaves when NATS traffic is lost, late, duplicated or damaged (issue "Faults at
//! the protocol level"): hosts reach NATS through a nemesis (`harness::nemesis`, a fault-injecting
//! protocol proxy), so these run on both backends and need no Docker. Each records its time to
//! recover as a convergence of kind `recovery`.
//!
//! The contracts: wadm forgets a host it has not heard from for its cleanup interval (the
//! harness gives wadm `WADM_CLEANUP_INTERVAL=10`; wadm checks every half interval and drops a
//! host unseen for two checks, ORC-01) and then places its components elsewhere (ORC-10); a
//! host's heartbeat refreshes wadm's view (HL-04, ORC-03); control requests are answered once,
//! and a scale names a count, so repeating it is harmless (HL-14); a wRPC result is either the
//! value or an error (NET-08).
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _};
use harness::manifest::AppBuilder;
use harness::nemesis::{Fault, Nemesis, Rule};
use harness::wait::{Probe, Wait};
use wadm_types::api::StatusType;

use crate::bindings::echo;
use crate::fixtures::PROBE_RUST;
use crate::framework::T;
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use crate::steps::{inventory, scale, wait_inventory};

/// Every test of this file.
pub(crate) fn all() -> [&'static ConformanceTest; 5] {
    [
        &PARTITION,
        &LATE_HEARTBEATS,
        &DUPLICATED_EVENTS,
        &LOST_CONTROL_REPLY,
        &CORRUPTED_WRPC,
    ]
}

/// The cleanup interval the harness gives wadm (`WADM_CLEANUP_INTERVAL`, seconds).
const CLEANUP: Duration = Duration::from_secs(10);

fn nemesis(cx: &Cx, index: usize) -> anyhow::Result<&Nemesis> {
    cx.lattice()
        .nemesis(index)
        .with_context(|| format!("host {index} was not started through a nemesis"))
}

/// Instances of `component` on `host`.
async fn instances(cx: &Cx, host: &str, component: &str) -> anyhow::Result<u32> {
    Ok(inventory(cx, host)
        .await?
        .components()
        .iter()
        .filter(|c| c.id() == component)
        .map(|c| c.max_instances())
        .sum())
}

/// ORC-01 / ORC-10: a host cut off from NATS loses its components to another host, and after
/// the heal one instance is left.
pub static PARTITION: ConformanceTest = ConformanceTest {
    name: "networking::resilience_partitioned_host_replaced",
    source: file!(),
    description: "an app of one instance on one of two hosts; that host's NATS connection is cut (nemesis partition): wadm starts the instance on the other host within its cleanup interval and a half plus a heartbeat; after the heal the lattice converges to exactly one instance, stable through two heartbeats",
    area: Area::Networking,
    features: &[Feature::Wadm, Feature::FileLoad, Feature::ControlInterface],
    covers: &["ORC-01", "ORC-10", "HL-04", "NET-04"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(2).with_wadm().through_nemesis(&[0, 1]),
    run: partition,
};

const LONER: &str = "loner-worker";

fn partition(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let ids = cx.lattice().host_ids();
        let image = cx.image(PROBE_RUST)?;
        let m = AppBuilder::new("loner", "v1")
            .component("worker", &image, 1)
            .build();
        cx.wadm().deploy_app(&m, T.deploy).await.context("deploy")?;
        // Where wadm put it.
        let mut placed = None;
        for (i, host) in ids.iter().enumerate() {
            let n = instances(&cx, host, LONER).await?;
            if n > 0 {
                placed = Some(i);
            }
        }
        let cut = placed.context("the deployed instance runs on neither host")?;
        let other = 1 - cut;
        let nemesis = nemesis(&cx, cut)?;
        ensure!(
            nemesis.partition() > 0,
            "host {cut} had no NATS connection to cut"
        );
        let heartbeat = cx.lattice().heartbeat();
        let bound = CLEANUP.mul_f64(1.5) + heartbeat * 2 + T.event;
        let (cx2, other_id) = (&cx, &ids[other]);
        Wait::new(
            format!("wadm to start the instance on host {other} after host {cut} lost NATS"),
            bound,
        )
        .kind("recovery")
        .interval(Duration::from_millis(250))
        .until(|_| async move {
            match instances(cx2, other_id, LONER).await {
                Ok(n) if n >= 1 => Probe::Ready(()),
                Ok(n) => Probe::NotYet(format!("{n} instances on host {other}")),
                Err(e) => Probe::NotYet(format!("{e:#}")),
            }
        })
        .await?;

        nemesis.heal();
        // The healed host comes back with the instance it never stopped: two in the lattice,
        // until wadm stops one.
        let ids2 = &ids;
        let stable = (heartbeat * 2).as_millis() / 250 + 1;
        Wait::new(
            "the lattice to run exactly one instance after the heal, through two heartbeats",
            CLEANUP + heartbeat * 4 + T.converge,
        )
        .kind("recovery")
        .interval(Duration::from_millis(250))
        .consecutive(stable as u32)
        .until(|_| async move {
            let mut total = Vec::new();
            for host in ids2 {
                match instances(cx2, host, LONER).await {
                    Ok(n) => total.push(n),
                    Err(e) => return Probe::NotYet(format!("{e:#}")),
                }
            }
            if total.iter().sum::<u32>() == 1 {
                Probe::Ready(())
            } else {
                Probe::NotYet(format!("instances per host {total:?}"))
            }
        })
        .await?;
        cx.wadm()
            .wait_for_status("loner", StatusType::Deployed, T.deploy, 1)
            .await?;
        Ok(())
    })
}

/// ORC-01 / HL-04: heartbeats that arrive late, but within the cleanup interval, keep the host.
pub static LATE_HEARTBEATS: ConformanceTest = ConformanceTest {
    name: "networking::resilience_late_heartbeats_keep_the_host",
    source: file!(),
    description: "host 1's heartbeats are delayed by 60% of wadm's cleanup interval (nemesis delay): through three of wadm's cleanup checks the host stays in wadm's state, whose record of it keeps being refreshed by the late heartbeats",
    area: Area::Networking,
    features: &[Feature::Wadm, Feature::LatticeEvents],
    covers: &["ORC-01", "ORC-03", "HL-04"],
    fixtures: &[],
    setup: Setup::hosts(2).with_wadm().through_nemesis(&[1]),
    run: late_heartbeats,
};

fn late_heartbeats(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let late_host = cx.lattice().host_ids()[1].clone();
        // wadm knows both hosts before the delay starts.
        cx.wadm().ready().await?;
        let nemesis = nemesis(&cx, 1)?;
        let delay = CLEANUP.mul_f64(0.6);
        let rule = nemesis.rule(Rule::to_server(
            "wasmbus.evt.*.host_heartbeat",
            Fault::Delay(delay),
        ));
        let window = CLEANUP.mul_f64(1.5) + delay;
        let started = Instant::now();
        let seen = std::sync::Mutex::new(std::collections::BTreeSet::new());
        let (cx2, late_host, seen2) = (&cx, &late_host, &seen);
        // Each check reads wadm's state; the wait ends early (with the evidence) if the host is
        // gone, and otherwise once the window has passed with the host present at every check.
        let dropped = Wait::new(
            format!("{window:?} of wadm keeping host 1 while its heartbeats arrive {delay:?} late"),
            window + T.event,
        )
        .interval(Duration::from_millis(200))
        .until(|_| async move {
            match crate::steps::wadm_recorded_hosts(cx2).await {
                Ok(hosts) if hosts[late_host.as_str()].is_null() => {
                    Probe::Ready(Some(format!("after {:?}: {hosts}", started.elapsed())))
                }
                Ok(hosts) => {
                    seen2
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(hosts[late_host.as_str()]["last_seen"].to_string());
                    match started.elapsed() >= window {
                        true => Probe::Ready(None),
                        false => Probe::NotYet("host 1 still recorded".into()),
                    }
                }
                Err(e) => Probe::NotYet(format!("{e:#}")),
            }
        })
        .await?;
        if let Some(evidence) = dropped {
            anyhow::bail!(
                "wadm dropped host 1 with its heartbeats {delay:?} late (cleanup interval {CLEANUP:?}) {evidence}"
            );
        }
        let seen = seen.into_inner().unwrap_or_else(|e| e.into_inner());
        let counts = nemesis.counts(rule);
        ensure!(
            counts.applied >= 3,
            "the nemesis delayed only {} heartbeats in {window:?}",
            counts.applied
        );
        ensure!(
            seen.len() >= 3,
            "wadm's record of host 1 was refreshed only {} times in {window:?}: the late heartbeats did not reach it",
            seen.len()
        );
        Ok(())
    })
}

/// ORC-19 / HL-14: lattice events delivered twice or out of order change nothing in wadm.
pub static DUPLICATED_EVENTS: ConformanceTest = ConformanceTest {
    name: "networking::resilience_duplicated_events_change_nothing",
    source: file!(),
    description: "every lattice event of the host is delivered twice, and its heartbeats also swapped pairwise (nemesis duplicate and reorder): an app of two instances deploys, the host runs exactly two, and through two heartbeats wadm scales nothing again",
    area: Area::Networking,
    features: &[Feature::Wadm, Feature::FileLoad, Feature::LatticeEvents],
    covers: &["ORC-19", "ORC-10", "HL-04"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1).with_wadm().through_nemesis(&[0]),
    run: duplicated_events,
};

fn duplicated_events(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let nemesis = nemesis(&cx, 0)?;
        let swapped = nemesis.rule(Rule::to_server(
            "wasmbus.evt.*.host_heartbeat",
            Fault::Reorder,
        ));
        let doubled = nemesis.rule(Rule::to_server("wasmbus.evt.*.*", Fault::Duplicate));
        let image = cx.image(PROBE_RUST)?;
        let m = AppBuilder::new("twice", "v1")
            .component("worker", &image, 2)
            .build();
        cx.wadm().deploy_app(&m, T.deploy).await.context("deploy")?;
        wait_inventory(&cx, &host, "twice's worker at 2", 2, |inv| {
            inv.components()
                .iter()
                .any(|c| c.id() == "twice-worker" && c.max_instances() == 2)
        })
        .await?;
        let journal = cx.journal();
        let mark = journal.mark();
        let quiet = cx.lattice().heartbeat() * 2 + T.quiet;
        if let Ok(e) = journal
            .wait_for(
                mark,
                "component_scaled",
                "a scale after the app settled (there must be none)",
                quiet,
                |_| true,
            )
            .await
        {
            anyhow::bail!("with duplicated events wadm scaled again: {}", e.data());
        }
        ensure!(
            instances(&cx, &host, "twice-worker").await? == 2,
            "the host does not run exactly two instances after the quiet window"
        );
        let (d, s) = (nemesis.counts(doubled), nemesis.counts(swapped));
        ensure!(
            d.applied >= 2,
            "the nemesis duplicated only {} events",
            d.applied
        );
        ensure!(s.applied >= 1, "the nemesis swapped no heartbeats ({s:?})");
        Ok(())
    })
}

/// HL-14: a lost control reply is a clear timeout at the caller, and repeating the scale leaves
/// the count asked for.
pub static LOST_CONTROL_REPLY: ConformanceTest = ConformanceTest {
    name: "networking::resilience_lost_control_reply",
    source: file!(),
    description: "the host's reply to a scale request is lost (nemesis drop): the caller gets a timeout error naming the request; the same scale sent again is acknowledged and the host runs the count asked for, not twice it",
    area: Area::Networking,
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::LatticeEvents],
    covers: &["HL-14", "NET-04"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1).through_nemesis(&[0]),
    run: lost_control_reply,
};

fn lost_control_reply(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let image = cx.image(PROBE_RUST)?;
        let nemesis = nemesis(&cx, 0)?;
        let lost = nemesis.rule(Rule::to_server("_INBOX.>", Fault::Drop).times(1));
        let ctl = cx.ctl().with_timeout(T.attempt);
        let started = Instant::now();
        let first = ctl
            .scale_component(&host, &image, "retried", 2, None, vec![])
            .await;
        let err = match first {
            Ok(ack) => anyhow::bail!(
                "the scale was answered although its reply was dropped (nemesis counts {:?}): {}",
                nemesis.counts(lost),
                ack.message()
            ),
            Err(e) => format!("{e:#}"),
        };
        ensure!(
            nemesis.counts(lost).applied == 1,
            "the nemesis dropped no reply: {:?}",
            nemesis.counts(lost)
        );
        ensure!(
            err.to_lowercase().contains("time") && err.contains("scale"),
            "the lost reply's error does not say it timed out on the scale: {err}"
        );
        ensure!(
            started.elapsed() < T.attempt * 3,
            "the lost reply took {:?} to fail (timeout {:?})",
            started.elapsed(),
            T.attempt
        );
        // The host did the work; the retry asks for the same count.
        scale(&cx, &host, &image, "retried", 2).await?;
        wait_inventory(&cx, &host, "retried at 2 instances", 3, |inv| {
            inv.components()
                .iter()
                .any(|c| c.id() == "retried" && c.max_instances() == 2)
        })
        .await?;
        Ok(())
    })
}

/// NET-08: wRPC results damaged on the way are errors at the caller, never other values.
pub static CORRUPTED_WRPC: ConformanceTest = ConformanceTest {
    name: "networking::resilience_corrupted_wrpc_results",
    source: file!(),
    description: "the host's wRPC results are corrupted (every byte inverted), then cut short, on the way to the caller (nemesis): each echo call is an error at the caller or the exact value, never another value; with the rules removed the same calls answer correctly",
    area: Area::Networking,
    features: &[Feature::Wrpc, Feature::FileLoad, Feature::ControlInterface],
    covers: &["NET-08", "NET-04"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1).through_nemesis(&[0]),
    run: corrupted_wrpc,
};

fn corrupted_wrpc(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let image = cx.image(PROBE_RUST)?;
        scale(&cx, &host, &image, "damaged", 1).await?;
        let client = cx.lattice().wrpc_client("damaged").await?;
        let messages = ["hello", "ünïcødé ✓", &"x".repeat(3000)];
        // Correct first, so that a failure below is the fault's.
        echo_each(&client, &messages, "before any fault").await?;
        let nemesis = nemesis(&cx, 0)?;
        for fault in [Fault::Corrupt, Fault::Truncate(1)] {
            let rule = nemesis.rule(Rule::to_server("_INBOX.>", fault.clone()));
            let mut errors = 0;
            for msg in messages {
                let got = tokio::time::timeout(T.attempt, echo::echo(&client, None, msg)).await;
                match got {
                    Ok(Ok(v)) => ensure!(
                        v == msg,
                        "with {fault:?} on the results echo answered {v:?} for {msg:?}: a damaged result became a value"
                    ),
                    Ok(Err(_)) | Err(_) => errors += 1,
                }
            }
            let counts = nemesis.remove(rule);
            ensure!(
                counts.applied > 0,
                "the nemesis damaged no result with {fault:?}: {counts:?}"
            );
            ensure!(
                errors > 0,
                "with {fault:?} on {} results every echo still answered correctly",
                counts.applied
            );
        }
        echo_each(&client, &messages, "after the faults were removed").await
    })
}

/// Each message echoed back exactly (calls retried as `harness::wrpc::call` does).
async fn echo_each(
    client: &wrpc_transport_nats::Client,
    messages: &[&str],
    when: &str,
) -> anyhow::Result<()> {
    for msg in messages {
        let got = harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
            echo::echo(client, None, msg)
        })
        .await
        .with_context(|| format!("echo {when}"))?;
        ensure!(got == *msg, "echo answered {got:?} for {msg:?} {when}");
    }
    Ok(())
}
