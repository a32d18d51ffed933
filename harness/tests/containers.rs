//! The containers backend against real lattices: readiness, fault injection across hosts (kill,
//! graceful stop, network partition, NATS and wadm restarts) and the reaper.
//!
//! Needs the binaries under test (`bash ci/setup`) and a Docker engine (`bash ci/setup-docker`).
//! Without an engine each test fails with the reason (a skip is never a pass); `bash ci/test`
//! leaves them out when no engine answers outside CI (nextest profile `no-docker`), so nextest
//! counts them as skipped. Built without the harness feature `containers` (a processes-only
//! build) this file holds no tests.
#![cfg(feature = "containers")]
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use harness::fixtures::{fixture, FixtureRef, Lang};
use harness::manifest::AppBuilder;
use harness::wait::{Probe, Wait};
use harness::{Backend, Lattice};
use wadm_types::api::StatusType;

const PROBE: FixtureRef = FixtureRef::new("probe", Lang::Rust);

/// Fails the test with the reason and the fix when the containers backend cannot run here: a test
/// that did not run must never count as passed. `bash ci/test` leaves these tests out when no
/// Docker engine answers outside CI (nextest profile `no-docker`, whose filter lists them), and
/// nextest reports them as skipped.
fn need_docker() {
    if let Some(why) = harness::containers::unavailable() {
        panic!(
            "this test needs the containers backend, which cannot run here: {why}\n  fix: start a \
             Docker engine (`bash ci/setup-docker`), or leave the tests that need one out: \
             `bash ci/test` does when no engine answers outside CI (nextest profile `no-docker`)"
        );
    }
}

async fn lattice(hosts: usize, wadm: bool) -> Lattice {
    Lattice::builder()
        .backend(Backend::Containers)
        .hosts(hosts)
        .wadm(wadm)
        .start()
        .await
        .expect("lattice starts")
}

/// Hosts (by ID) whose inventory lists a component started from `image`; hosts that do not answer
/// within a second are left out.
async fn hosts_running(lattice: &Lattice, image: &str) -> BTreeSet<String> {
    let ctl = lattice.ctl().with_timeout(Duration::from_secs(1));
    let mut running = BTreeSet::new();
    for id in lattice.host_ids() {
        if let Ok(reply) = ctl.get_host_inventory(&id).await {
            if reply
                .data()
                .is_some_and(|inv| inv.components().iter().any(|c| c.image_ref() == image))
            {
                running.insert(id);
            }
        }
    }
    running
}

/// Deploys `probe` spread-scaled to one instance and returns the host running it.
async fn deploy_probe(lattice: &Lattice, app: &str) -> (String, String) {
    let image = fixture(PROBE)
        .expect("probe fixture built (bash ci/build-fixtures)")
        .file_ref();
    let manifest = AppBuilder::new(app, "v1")
        .component("probe", &image, 1)
        .build();
    lattice.wadm().put(&manifest).await.expect("model.put");
    lattice
        .wadm()
        .deploy(app, None)
        .await
        .expect("model.deploy");
    lattice
        .wadm()
        .wait_for_status(app, StatusType::Deployed, Duration::from_secs(60), 2)
        .await
        .expect("deployed");
    let on = Wait::new(
        format!("{app}'s probe to run on exactly one host"),
        Duration::from_secs(30),
    )
    .interval(Duration::from_millis(100))
    .until(|_| async {
        let on = hosts_running(lattice, &image).await;
        if on.len() == 1 {
            Probe::Ready(on.into_iter().next().unwrap())
        } else {
            Probe::NotYet(format!("on {on:?}"))
        }
    })
    .await
    .expect("probe placed");
    (image, on)
}

/// Waits until the probe runs on a host other than `gone` and the app is deployed; returns the
/// time since `since`.
async fn wait_rescheduled(
    lattice: &Lattice,
    app: &str,
    image: &str,
    gone: &str,
    since: Instant,
) -> Duration {
    Wait::new(
        format!("wadm to run {app}'s probe on a host other than {gone}"),
        Duration::from_secs(120),
    )
    .interval(Duration::from_millis(100))
    .until(|_| async {
        let on = hosts_running(lattice, image).await;
        if on.iter().any(|h| h != gone) {
            Probe::Ready(())
        } else {
            Probe::NotYet(format!("on {on:?}"))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", lattice.diagnostics()));
    let recovered = since.elapsed();
    lattice
        .wadm()
        .wait_for_status(app, StatusType::Deployed, Duration::from_secs(60), 2)
        .await
        .expect("deployed again");
    recovered
}

#[tokio::test]
async fn lattice_up_with_containers_is_ready_by_protocol() {
    need_docker();
    let lattice = lattice(1, true).await;
    eprintln!(
        "lattice up (containers: NATS + 1 host + wadm, ready by protocol): {:?}",
        lattice.startup_time()
    );
    assert_eq!(lattice.backend(), Backend::Containers);
    assert!(
        lattice.diagnostics().contains("containers (network wcc-"),
        "{}",
        lattice.diagnostics()
    );
    // The readiness contract: the host answers host.get, wadm answers and knows the host.
    let inventory = lattice
        .ctl()
        .get_host_inventory(&lattice.host_ids()[0])
        .await
        .unwrap();
    assert!(inventory.succeeded(), "{}", inventory.message());
    assert!(lattice.wadm().list().await.is_ok());
    // Logs of every container reach the journal's log tails.
    assert!(
        lattice.diagnostics().contains("Server is ready"),
        "{}",
        lattice.diagnostics()
    );
    let log = lattice.log_dir().unwrap().join("host-0.log");
    assert!(
        std::fs::metadata(&log).is_ok_and(|m| m.len() > 0),
        "{} is empty",
        log.display()
    );
}

#[tokio::test]
async fn wadm_reschedules_after_a_host_is_killed() {
    need_docker();
    let lattice = lattice(2, true).await;
    let (image, on) = deploy_probe(&lattice, "killed").await;
    let since = Instant::now();
    lattice.kill_host(&on).await.expect("SIGKILL the host");
    let recovered = wait_rescheduled(&lattice, "killed", &image, &on, since).await;
    eprintln!("time to recover after SIGKILL of the host running the component: {recovered:?}");
}

#[tokio::test]
async fn wadm_reschedules_after_a_graceful_host_stop() {
    need_docker();
    let lattice = lattice(2, true).await;
    let (image, on) = deploy_probe(&lattice, "stopped").await;
    let mark = lattice.journal().mark();
    let since = Instant::now();
    lattice.stop_host(&on).await.expect("SIGTERM the host");
    assert!(
        lattice
            .journal()
            .since(mark)
            .iter()
            .any(|e| e.kind == "host_stopped" && e.source() == on),
        "a gracefully stopped host publishes host_stopped"
    );
    let recovered = wait_rescheduled(&lattice, "stopped", &image, &on, since).await;
    eprintln!(
        "time to recover after a graceful stop of the host running the component: {recovered:?}"
    );
}

/// Components of hosts that answer a ping (the lattice view a client has).
async fn lattice_view(lattice: &Lattice) -> (BTreeSet<String>, BTreeSet<String>) {
    let hosts: BTreeSet<String> = lattice
        .ctl()
        .get_hosts()
        .await
        .unwrap_or_default()
        .iter()
        .map(|h| h.id().to_string())
        .collect();
    let ctl = lattice.ctl().with_timeout(Duration::from_secs(1));
    let mut components = BTreeSet::new();
    for id in &hosts {
        if let Ok(reply) = ctl.get_host_inventory(id).await {
            if let Some(inv) = reply.data() {
                components.extend(inv.components().iter().map(|c| c.id().to_string()));
            }
        }
    }
    (hosts, components)
}

#[tokio::test]
async fn a_partitioned_host_leaves_the_lattice_view_and_comes_back_healed() {
    need_docker();
    let lattice = lattice(2, false).await;
    let image = fixture(PROBE).expect("probe fixture built").file_ref();
    let [a, b] = <[String; 2]>::try_from(lattice.host_ids()).unwrap();
    for (host, id) in [(&a, "probe-a"), (&b, "probe-b")] {
        let reply = lattice
            .ctl()
            .scale_component(host, &image, id, 1, None, Vec::new())
            .await
            .unwrap();
        assert!(reply.succeeded(), "{}", reply.message());
    }
    let both: BTreeSet<String> = ["probe-a", "probe-b"].map(String::from).into();
    let all_hosts: BTreeSet<String> = [a.clone(), b.clone()].into();
    let view = |want_hosts: BTreeSet<String>, want_components: BTreeSet<String>| {
        let lattice = &lattice;
        async move {
            let (hosts, components) = lattice_view(lattice).await;
            if hosts == want_hosts && components == want_components {
                Probe::Ready(())
            } else {
                Probe::NotYet(format!("hosts {hosts:?}, components {components:?}"))
            }
        }
    };
    Wait::new("both probes in the lattice view", Duration::from_secs(30))
        .until(|_| view(all_hosts.clone(), both.clone()))
        .await
        .unwrap();

    let since = Instant::now();
    lattice.partition_host(&b).await.expect("partition");
    Wait::new(
        "the partitioned host and its probe to leave the lattice view",
        Duration::from_secs(60),
    )
    .consecutive(2)
    .until(|_| view([a.clone()].into(), ["probe-a".to_string()].into()))
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", lattice.diagnostics()));
    eprintln!(
        "partitioned host gone from the lattice view after {:?}",
        since.elapsed()
    );
    let direct = lattice
        .ctl()
        .with_timeout(Duration::from_secs(1))
        .get_host_inventory(&b)
        .await;
    assert!(
        direct.is_err(),
        "a partitioned host answered host.get: {direct:?}"
    );

    let since = Instant::now();
    lattice.heal_host(&b).await.expect("heal");
    Wait::new(
        "the healed host and its probe to be back in the lattice view",
        Duration::from_secs(90),
    )
    .until(|_| view(all_hosts.clone(), both.clone()))
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", lattice.diagnostics()));
    eprintln!(
        "healed host back in the lattice view after {:?}",
        since.elapsed()
    );
}

#[tokio::test]
async fn an_app_stays_deployed_across_wadm_and_nats_restarts() {
    need_docker();
    let lattice = lattice(1, true).await;
    let (image, on) = deploy_probe(&lattice, "steady").await;
    let still_deployed = |what: &'static str| {
        let lattice = &lattice;
        let image = &image;
        let on = &on;
        async move {
            let list = lattice
                .wadm()
                .list()
                .await
                .unwrap_or_else(|e| panic!("model.list after {what}: {e}"));
            assert!(
                list.iter().any(|m| m.name == "steady"),
                "wadm forgot the app after {what}: {list:?}"
            );
            lattice
                .wadm()
                .wait_for_status("steady", StatusType::Deployed, Duration::from_secs(60), 3)
                .await
                .unwrap_or_else(|e| panic!("after {what}: {e}\n{}", lattice.diagnostics()));
            let running = hosts_running(lattice, image).await;
            assert_eq!(
                running,
                [on.clone()].into(),
                "after {what} the probe runs on {running:?}"
            );
        }
    };

    let since = Instant::now();
    lattice.restart_wadm().await.expect("restart wadm");
    eprintln!("wadm restarted and answering after {:?}", since.elapsed());
    still_deployed("a wadm restart").await;

    let since = Instant::now();
    lattice.restart_nats().await.expect("restart NATS");
    eprintln!(
        "NATS restarted, host and wadm answering after {:?}",
        since.elapsed()
    );
    still_deployed("a NATS restart").await;
}

#[tokio::test]
async fn partitions_and_restarts_need_the_containers_backend() {
    // The processes backend refuses them with a clear message (and needs no engine).
    let lattice = Lattice::builder()
        .backend(Backend::Processes)
        .hosts(1)
        .start()
        .await
        .expect("lattice starts");
    let host = lattice.host_ids()[0].clone();
    let err = lattice.partition_host(&host).await.unwrap_err().to_string();
    assert!(
        err.contains("needs the containers backend") && err.contains("WCC_BACKEND=containers"),
        "{err}"
    );
    assert!(lattice.restart_nats().await.is_err());
    assert!(lattice
        .kill_host("NOTAHOST")
        .await
        .unwrap_err()
        .to_string()
        .contains("not a host this lattice started"));
    // Kill works on processes too.
    lattice
        .kill_host(&host)
        .await
        .expect("SIGKILL a host process");
}

fn docker_lines(args: &[&str]) -> Vec<String> {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI runs");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn sigkill_of_the_test_process_leaves_nothing_once_the_reaper_ran() {
    use std::io::{BufRead as _, BufReader};
    need_docker();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wcc-lattice"))
        .args(["--hosts", "1", "--wadm"])
        .env("WCC_BACKEND", "containers")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("wcc-lattice starts");
    let line = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .expect("a readiness line")
        .unwrap();
    let info: serde_json::Value = serde_json::from_str(&line).expect("readiness line is JSON");
    let run = format!(
        "label={}={}",
        harness::containers::RUN_LABEL,
        info["lattice"].as_str().unwrap()
    );
    assert_eq!(
        docker_lines(&["ps", "-q", "--filter", &run]).len(),
        3,
        "nats, wadm and a host run: {info}"
    );
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    // Containers do not die with their owner...
    assert_eq!(
        docker_lines(&["ps", "-q", "--filter", &run]).len(),
        3,
        "containers outlive a SIGKILLed owner"
    );
    // ...the reaper removes them. It also runs at every lattice start and exit, so a test running
    // beside this one may have removed some already: what counts is that none is left.
    harness::containers::sweep();
    harness::reaper::sweep();
    assert_eq!(
        docker_lines(&["ps", "-a", "-q", "--filter", &run]),
        Vec::<String>::new(),
        "containers left"
    );
    assert_eq!(
        docker_lines(&["network", "ls", "-q", "--filter", &run]),
        Vec::<String>::new(),
        "networks left"
    );
    assert_eq!(
        docker_lines(&["volume", "ls", "-q", "--filter", &run]),
        Vec::<String>::new(),
        "volumes left"
    );
}

/// The image of the reference `nats-server` (`ci/images/build`, run by the harness when a fresh
/// clone has none yet).
async fn nats_image() -> String {
    let binaries = harness::binaries::Binaries::from_env().expect("the reference binaries");
    harness::containers::images_of(&binaries)
        .await
        .expect("the lattice images")
        .nats_server
}

/// A container run to completion answers with its output and is gone after; one that outlives
/// its timeout is removed, and the error names what was awaited and the container's log tail.
#[tokio::test]
async fn a_container_run_to_completion_is_removed_even_on_a_timeout() {
    need_docker();
    let image = nats_image().await;
    let done =
        harness::containers::run_to_completion(&image, &["--version"], Duration::from_secs(60))
            .await
            .expect("nats-server --version runs");
    assert!(done.success(), "{done:?}");
    assert!(done.stdout.contains("nats-server"), "{done:?}");
    let run = format!("oneshot-{}-", std::process::id());
    // Without arguments nats-server serves until stopped.
    let err = harness::containers::run_to_completion(&image, &[], Duration::from_secs(3))
        .await
        .expect_err("nats-server never exits by itself")
        .to_string();
    assert!(
        err.contains("timed out") && err.contains(&run) && err.contains("to exit"),
        "{err}"
    );
    assert!(err.contains("Server is ready"), "the log tail: {err}");
    assert_eq!(
        docker_lines(&["ps", "-a", "-q", "--filter", &format!("name={run}")]),
        Vec::<String>::new(),
        "the containers were removed"
    );
}

#[tokio::test]
async fn wadm_restarts_on_processes_too() {
    // Needs no engine: the same binary and environment as a new process, logging to wadm-2.log.
    let lattice = Lattice::builder()
        .backend(Backend::Processes)
        .hosts(1)
        .wadm(true)
        .start()
        .await
        .expect("lattice starts");
    lattice.wadm().ready().await.expect("wadm knows the host");
    let before = lattice.pids();
    lattice.restart_wadm().await.expect("restart wadm");
    let after = lattice.pids();
    let (old, new) = (before[1], after[1]);
    assert_ne!(old, new, "wadm is a new process");
    assert!(
        harness::procfs::gone(old as i32),
        "the old wadm ({old}) is gone"
    );
    lattice.wadm().list().await.expect("the new wadm answers");
    let logs = lattice.log_dir().expect("a log directory");
    assert!(logs.join("wadm-2.log").is_file(), "{}", logs.display());
}
