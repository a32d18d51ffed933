//! The WASI context a component runs in (catalogue VAC-04): deny by default. The `sandbox` fixture
//! reports what it was given; the host must grant one argument, a clock, and nothing else.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::ensure;

use crate::bindings::sandbox::probe;
use crate::framework::T;
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};

/// VAC-04: arguments, environment, directories, sockets and clocks as the contract grants them.
pub static SANDBOX: ConformanceTest = ConformanceTest {
    name: "security::component_sandbox_denies_by_default",
    source: file!(),
    description: "a component started by a host whose own environment is full sees the single argument main.wasm, no environment variable, no directory it can list (/, ., /tmp, the host's home), cannot open a TCP connection to a listener this machine runs (which sees none), and reads a wall clock within 5 s of this machine's",
    area: Area::Security,
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc],
    covers: &["VAC-04", "SEC-03"],
    fixtures: &[crate::fixtures::SANDBOX_RUST],
    setup: Setup::hosts(1).env_per_host(&[&[("WCC_SANDBOX_CANARY", "must-not-be-seen")]]),
    run: sandbox,
};

fn sandbox(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let image = cx.image(crate::fixtures::SANDBOX_RUST)?;
        crate::steps::scale(&cx, &cx.host_id(), &image, "sandbox", 1).await?;
        let client = cx.lattice().wrpc_client("sandbox").await?;
        let call = |what: &'static str| move |e: anyhow::Error| e.context(what);

        let args = harness::wrpc::call(T.call, || probe::arguments(&client, None))
            .await
            .map_err(call("sandbox.arguments"))?;
        ensure!(
            args == ["main.wasm"],
            "the component's arguments are {args:?}, expected [\"main.wasm\"]"
        );

        let env = harness::wrpc::call(T.call, || probe::environment(&client, None))
            .await
            .map_err(call("sandbox.environment"))?;
        ensure!(
            env.is_empty(),
            "the component sees environment variables: {env:?}"
        );

        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
        let paths = ["/", ".", "/tmp", home.as_str()];
        let listed = harness::wrpc::call(T.call, || probe::list_directories(&client, None, &paths))
            .await
            .map_err(call("sandbox.list-directories"))?;
        for (path, outcome) in paths.iter().zip(&listed) {
            ensure!(
                outcome.starts_with("err:"),
                "the component can list {path}: {outcome}"
            );
        }

        // An IP address the host reaches (processes: the lattice's NATS on loopback; containers:
        // the host container's own address). The host must refuse it before any connection
        // (wasi:sockets access-denied, PermissionDenied here), not fail to reach it.
        let target = match cx.lattice().backend() {
            harness::Backend::Processes => cx
                .lattice()
                .nats_url_for_hosts()
                .trim_start_matches("nats://")
                .to_string(),
            harness::Backend::Containers => cx.lattice().hosts()[0].address(4222),
        };
        let connected = harness::wrpc::call(T.call, || probe::connect(&client, None, &target))
            .await
            .map_err(call("sandbox.connect"))?;
        ensure!(
            connected
                .as_ref()
                .is_err_and(|e| e.starts_with("PermissionDenied")),
            "a TCP connection from the component to {target}: {connected:?}; expected it refused as PermissionDenied"
        );

        let now = harness::wrpc::call(T.call, || probe::now(&client, None))
            .await
            .map_err(call("sandbox.now"))?;
        let ours = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        let skew = Duration::from_nanos(u64::try_from(ours.abs_diff(u128::from(now)))?);
        ensure!(
            skew <= Duration::from_secs(5),
            "the component's wall clock is {skew:?} off this machine's"
        );
        Ok(())
    })
}
