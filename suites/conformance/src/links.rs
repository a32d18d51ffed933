//! Links through the control interface and component-to-component calls over them (catalogue
//! NET-03, NET-04, NET-05, NET-09, SEC-03).
use std::time::Duration;

use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use anyhow::ensure;
use harness::lattice::HostSpec;
use harness::wait::{Probe, Wait};
use wasmcloud_control_interface::Link;

use crate::fixtures::{PROBE_RUST, RUNNER_RUST};
use crate::framework::properties::{short, text};
use crate::framework::T;
use crate::steps::{scale, wait_inventory};

fn same_link(a: &Link, b: &Link) -> bool {
    a.source_id() == b.source_id()
        && a.target() == b.target()
        && a.name() == b.name()
        && a.interfaces() == b.interfaces()
}

/// NET-03/04/05: put, get and delete a link, with the events each publishes.
pub static PUT_GET_DELETE: ConformanceTest = ConformanceTest {
    name: "links::put_get_delete_with_events",
    source: file!(),
    description: "link.put stores a link lattice-wide (linkdef_set), link.get lists it, link.del removes it (linkdef_deleted), and a second delete still succeeds",
    area: Area::Networking,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::Links],
    covers: &["NET-03", "NET-04", "NET-05", "Q-20"],
    fixtures: &[],
    setup: Setup::hosts(1),
    run: put_get_delete,
};

fn put_get_delete(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let journal = cx.journal();
        let link = crate::steps::echo_link("link-source", "link-target", "default")?;
        let mark = journal.mark();
        let put = cx.ctl().put_link(link.clone()).await?;
        ensure!(put.succeeded(), "link.put refused: {}", put.message());
        let set = journal
            .wait_for(
                mark,
                "linkdef_set",
                "link-source -> link-target",
                T.event,
                |e| e.field("source_id") == Some("link-source"),
            )
            .await?;
        let d = set.data();
        ensure!(
            d["target"] == "link-target"
                && d["name"] == "default"
                && d["wit_namespace"] == "test"
                && d["wit_package"] == "fixtures"
                && d["interfaces"] == serde_json::json!(["echo"])
                && d["source_config"].is_array()
                && d["target_config"].is_array(),
            "linkdef_set data: {d}"
        );
        crate::steps::wait_links(&cx, "the new link listed", |links| {
            links.iter().any(|l| same_link(l, &link))
        })
        .await?;

        let mark = journal.mark();
        let del = cx
            .ctl()
            .delete_link("link-source", "default", "test", "fixtures")
            .await?;
        ensure!(del.succeeded(), "link.del refused: {}", del.message());
        let deleted = journal
            .wait_for(mark, "linkdef_deleted", "link-source", T.event, |e| {
                e.field("source_id") == Some("link-source")
            })
            .await?;
        let d = deleted.data();
        ensure!(
            d["name"] == "default"
                && d["wit_namespace"] == "test"
                && d["wit_package"] == "fixtures",
            "linkdef_deleted data: {d}"
        );
        ensure!(
            d["target"] == "link-target",
            "linkdef_deleted of an existing link names its target: {d}"
        );
        crate::steps::wait_links(&cx, "the deleted link gone", |links| {
            links.iter().all(|l| l.source_id() != "link-source")
        })
        .await?;

        // Deleting again is idempotent (NET-04).
        let again = cx
            .ctl()
            .delete_link("link-source", "default", "test", "fixtures")
            .await?;
        ensure!(
            again.succeeded(),
            "second link.del refused: {}",
            again.message()
        );
        Ok(())
    })
}

/// NET-03: a second link with the same source, name and interface but another target is refused.
pub static CONFLICTING_TARGET: ConformanceTest = ConformanceTest {
    name: "links::conflicting_target_rejected",
    source: file!(),
    description: "link.put with the same source/name/interface and a different target is refused with the documented message and linkdef_set_failed; another link name is accepted",
    area: Area::Networking,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::Links],
    covers: &["NET-03", "NET-05"],
    fixtures: &[],
    setup: Setup::hosts(1),
    run: conflicting_target,
};

fn conflicting_target(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let journal = cx.journal();
        let first = cx
            .ctl()
            .put_link(crate::steps::echo_link("src", "target-a", "default")?)
            .await?;
        ensure!(first.succeeded(), "first link refused: {}", first.message());
        let mark = journal.mark();
        let conflict = cx
            .ctl()
            .put_link(crate::steps::echo_link("src", "target-b", "default")?)
            .await?;
        ensure!(!conflict.succeeded(), "a conflicting link was accepted");
        ensure!(
            conflict
                .message()
                .contains("link already exists with different target, consider deleting the existing link or using a different link name"),
            "conflict message: {:?}",
            conflict.message()
        );
        let failed = journal
            .wait_for(
                mark,
                "linkdef_set_failed",
                "the conflicting link",
                T.event,
                |e| e.field("target") == Some("target-b"),
            )
            .await?;
        ensure!(
            failed.field("error").is_some_and(|e| !e.is_empty()),
            "linkdef_set_failed without error: {}",
            failed.data()
        );
        let other_name = cx
            .ctl()
            .put_link(crate::steps::echo_link("src", "target-b", "secondary")?)
            .await?;
        ensure!(
            other_name.succeeded(),
            "a link under another name was refused: {}",
            other_name.message()
        );
        crate::steps::wait_links(
            &cx,
            "src linked to target-a (default) and target-b (secondary) only",
            |links| {
                let targets: Vec<(&str, &str)> = links
                    .iter()
                    .filter(|l| l.source_id() == "src")
                    .map(|l| (l.name(), l.target()))
                    .collect();
                targets.contains(&("default", "target-a"))
                    && targets.contains(&("secondary", "target-b"))
                    && targets.len() == 2
            },
        )
        .await?;
        Ok(())
    })
}

/// NET-09 / SEC-03: an import resolves only through a link; with it, component calls component.
pub static COMPONENT_CALLS_LINKED_TARGET: ConformanceTest = ConformanceTest {
    name: "links::component_calls_linked_target",
    source: file!(),
    description: "a component's custom import fails while unlinked (deny by default), reaches the target component once linked, and fails again after the link is deleted",
    area: Area::Networking,
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc, Feature::Links],
    covers: &["NET-09", "NET-03", "NET-04", "SEC-03", "NET-08"],
    fixtures: &[PROBE_RUST, RUNNER_RUST],
    setup: Setup::hosts(1),
    run: component_calls_linked_target,
};

fn component_calls_linked_target(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        scale(&cx, &host, &cx.image(PROBE_RUST)?, "echo-target", 1).await?;
        scale(&cx, &host, &cx.image(RUNNER_RUST)?, "runner", 1).await?;
        wait_inventory(&cx, &host, "both components listed", 1, |inv| {
            inv.components().len() == 2
        })
        .await?;
        let client = cx.lattice().wrpc_client("runner").await?;

        let unlinked = crate::steps::run_outcome(&client, "before").await;
        ensure!(
            unlinked.is_err(),
            "an unlinked import answered {unlinked:?} (deny by default, NET-09)"
        );

        let put = cx
            .ctl()
            .put_link(crate::steps::echo_link("runner", "echo-target", "default")?)
            .await?;
        ensure!(put.succeeded(), "link.put refused: {}", put.message());
        let client_ref = &client;
        Wait::new(
            "runner.run to reach echo-target through the link",
            T.converge,
        )
        .kind("link")
        .consecutive(3)
        .interval(Duration::from_millis(200))
        .until(|n| async move {
            let msg = format!("through the link #{n}");
            match crate::steps::run_outcome(client_ref, &msg).await {
                Ok(answer) if answer == msg => Probe::Ready(()),
                Ok(answer) => Probe::NotYet(format!("answered {answer:?} for {msg:?}")),
                Err(e) => Probe::NotYet(e),
            }
        })
        .await?;

        let del = cx
            .ctl()
            .delete_link("runner", "default", "test", "fixtures")
            .await?;
        ensure!(del.succeeded(), "link.del refused: {}", del.message());
        Wait::new(
            "runner.run to fail again once the link is deleted",
            T.converge,
        )
        .kind("link")
        .consecutive(2)
        .interval(Duration::from_millis(200))
        .until(|_| async move {
            match crate::steps::run_outcome(client_ref, "after").await {
                Ok(answer) => Probe::NotYet(format!("still answered {answer:?}")),
                Err(_) => Probe::Ready(()),
            }
        })
        .await?;
        Ok(())
    })
}

/// NET-10: a component on one host calls a component on another host through a link.
pub static CROSS_HOST_CALL: ConformanceTest = ConformanceTest {
    name: "links::call_across_hosts",
    source: file!(),
    description:
        "a runner on one host reaches an echo component running only on another host through a link (NATS routing by component id)",
    area: Area::Networking,
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc, Feature::Links],
    covers: &["NET-10", "NET-09", "NET-08"],
    fixtures: &[PROBE_RUST, RUNNER_RUST],
    setup: Setup::hosts(2),
    run: cross_host_call,
};

fn cross_host_call(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let ids = cx.lattice().host_ids();
        crate::steps::runner_linked_across_hosts(&cx).await?;
        let inv0 = crate::steps::inventory(&cx, &ids[0]).await?;
        ensure!(
            inv0.components().iter().all(|c| c.id() != "far-echo"),
            "far-echo must run on host 1 only"
        );
        Ok(())
    })
}

/// NET-08: the same component id on two hosts shares one queue group: calls are spread.
pub static LOAD_BALANCING: ConformanceTest = ConformanceTest {
    name: "links::same_id_on_two_hosts_load_balances",
    source: file!(),
    description:
        "with one component id running on two hosts (a Rust build on one, a C build on the other), repeated wRPC calls are answered by both",
    area: Area::Networking,
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc],
    covers: &["NET-08", "NET-10"],
    fixtures: &[PROBE_RUST, crate::fixtures::PROBE_C],
    setup: Setup::hosts(2),
    run: load_balancing,
};

fn load_balancing(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let ids = cx.lattice().host_ids();
        scale(&cx, &ids[0], &cx.image(PROBE_RUST)?, "balanced", 1).await?;
        scale(
            &cx,
            &ids[1],
            &cx.image(crate::fixtures::PROBE_C)?,
            "balanced",
            1,
        )
        .await?;
        let client = cx.lattice().wrpc_client("balanced").await?;
        // `component_scaled` can come before the host's subscription for the export is live on
        // the server (60 calls in 0.2 s once all went to the first host), so the calls go on,
        // bounded, until both builds have answered three times.
        let seen = std::sync::Mutex::new(std::collections::BTreeMap::<String, u32>::new());
        let (client, seen_ref) = (&client, &seen);
        let outcome = Wait::new("both hosts to answer calls to the shared id", T.converge)
            .interval(Duration::from_millis(10))
            .until(|_| async move {
                let lang = match tokio::time::timeout(
                    T.attempt,
                    crate::bindings::about::language(client, None),
                )
                .await
                {
                    Ok(Ok(lang)) => lang,
                    Ok(Err(e)) => return Probe::NotYet(format!("about.language failed: {e:#}")),
                    Err(_) => {
                        return Probe::NotYet("about.language did not answer within 10 s".into())
                    }
                };
                let mut seen = seen_ref.lock().unwrap_or_else(|e| e.into_inner());
                *seen.entry(lang).or_default() += 1;
                if seen.get("rust").is_some_and(|n| *n >= 3)
                    && seen.get("c").is_some_and(|n| *n >= 3)
                {
                    Probe::Ready(())
                } else {
                    Probe::NotYet(format!("answers so far {seen:?}"))
                }
            })
            .await;
        let seen = seen.into_inner().unwrap_or_else(|e| e.into_inner());
        ensure!(
            outcome.is_ok(),
            "{} calls were answered by {seen:?}; both hosts should serve the shared id",
            seen.values().sum::<u32>()
        );
        Ok(())
    })
}

/// HL-13 / Q-10: links live in JetStream, so a host that starts later knows them.
pub static LINKS_REPLAYED: ConformanceTest = ConformanceTest {
    name: "links::known_to_hosts_started_later",
    source: file!(),
    description: "a link put before a host started is listed by that host once the original host is gone (replayed from LATTICEDATA)",
    area: Area::Networking,
    features: &[Feature::ControlInterface, Feature::Links],
    covers: &["HL-13", "Q-10", "NET-11"],
    fixtures: &[],
    setup: Setup::hosts(1).needs_suite_lattice("adds hosts of its own"),
    run: links_replayed,
};

fn links_replayed(cx: Cx) -> TestFuture {
    Box::pin(async move {
        crate::steps::put_link(
            &cx,
            crate::steps::echo_link("old-source", "old-target", "default")?,
        )
        .await?;
        let first = cx.host_id();
        let newcomer = cx.lattice().add_host(HostSpec::default()).await?;
        ensure!(
            cx.ctl().stop_host(&first, Some(5_000)).await?.succeeded(),
            "host.stop refused"
        );
        let ctl = cx.ctl();
        let first_ref = &first;
        Wait::new("only the newcomer to answer ping", T.converge)
            .consecutive(2)
            .until(|_| async move {
                match ctl.get_hosts().await {
                    Ok(h) if h.len() == 1 && h[0].id() != first_ref => Probe::Ready(()),
                    Ok(h) => Probe::NotYet(format!(
                        "{:?}",
                        h.iter().map(|h| h.id().to_string()).collect::<Vec<_>>()
                    )),
                    Err(e) => Probe::NotYet(e.to_string()),
                }
            })
            .await?;
        crate::steps::wait_links(
            &cx,
            &format!(
                "the link listed by the host started after it ({})",
                newcomer.id
            ),
            |links| {
                links
                    .iter()
                    .any(|l| l.source_id() == "old-source" && l.target() == "old-target")
            },
        )
        .await?;
        Ok(())
    })
}

/// NET-10 as a property: generated strings cross a link between two hosts unchanged.
pub static GENERATED_STRINGS_ACROSS_HOSTS: ConformanceTest = ConformanceTest {
    name: "links::generated_strings_cross_hosts_unchanged",
    source: file!(),
    description: "generated strings (empty, NUL, controls, astral-plane and combining characters, up to 64 KiB) sent to a runner on host 0 come back unchanged from the echo component it reaches on host 1 through a link",
    area: Area::Networking,
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc, Feature::Links],
    covers: &["NET-10", "NET-08"],
    fixtures: &[PROBE_RUST, RUNNER_RUST],
    setup: Setup::hosts(2),
    run: generated_strings_across_hosts,
};

fn generated_strings_across_hosts(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let mut draw = cx.draw()?;
        let cases = draw.values(&text(64, 64 * 1024))?;
        let client = crate::steps::runner_linked_across_hosts(&cx).await?;
        for (i, msg) in cases.iter().enumerate() {
            let answer = crate::steps::run_outcome(&client, msg).await.map_err(|e| {
                anyhow::anyhow!(
                    "case {} of {} ({}): run({}) failed: {e}",
                    i + 1,
                    cases.len(),
                    draw.repeat(),
                    short(msg, 60)
                )
            })?;
            ensure!(
                &answer == msg,
                "case {} of {} ({}): run({}) came back as {}",
                i + 1,
                cases.len(),
                draw.repeat(),
                short(msg, 60),
                short(&answer, 60)
            );
        }
        Ok(())
    })
}

/// Every test of this module, in report order.
pub(crate) fn all() -> Vec<&'static ConformanceTest> {
    vec![
        &PUT_GET_DELETE,
        &CONFLICTING_TARGET,
        &COMPONENT_CALLS_LINKED_TARGET,
        &CROSS_HOST_CALL,
        &LOAD_BALANCING,
        &LINKS_REPLAYED,
        &GENERATED_STRINGS_ACROSS_HOSTS,
    ]
}
