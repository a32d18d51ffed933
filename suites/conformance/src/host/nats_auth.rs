//! Hosts on a NATS server with accounts (catalogue SEC-04): control and RPC connections each
//! authenticate as their own user (one by JWT and seed, the other by a credentials file), over TLS
//! when the server requires it, and providers get the RPC user in their host data. What the server
//! must refuse is `security::`'s.
use anyhow::{ensure, Context as _};
use harness::nats_auth::Who;

use crate::bindings::echo;
use crate::fixtures::{INSPECT, PROBE_RUST};
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture, T};

const FEATURES: &[Feature] = &[
    Feature::ControlInterface,
    Feature::LatticeEvents,
    Feature::FileLoad,
    Feature::Wrpc,
];

/// Scales the probe as `id` and has it echo once over wRPC (the host's RPC connection works).
async fn echo_once(cx: &Cx, host: &str, id: &str) -> anyhow::Result<()> {
    let image = cx.image(PROBE_RUST)?;
    crate::steps::scale(cx, host, &image, id, 1).await?;
    let client = cx.lattice().wrpc_client(id).await?;
    let got = harness::wrpc::call(T.call, || echo::echo(&client, None, "through accounts"))
        .await
        .with_context(|| format!("echo through {id}"))?;
    ensure!(got == "through accounts", "{id} echoed {got:?}");
    Ok(())
}

/// wadm, with its own user: its API, its JetStream state and its commands to the hosts, through
/// an application deployed to Deployed.
async fn deploy_through_wadm(cx: &Cx, app: &str) -> anyhow::Result<()> {
    let manifest = harness::manifest::AppBuilder::new(app, "v0.1.0")
        .component("greeter", &cx.image(PROBE_RUST)?, 1)
        .build();
    cx.wadm()
        .deploy_app(&manifest, T.deploy)
        .await
        .with_context(|| format!("deploy {app} through wadm on NATS with accounts"))?;
    Ok(())
}

/// SEC-04: hosts, wadm and providers on a NATS server that requires users.
pub static ACCOUNTS: ConformanceTest = ConformanceTest {
    name: "host::joins_nats_with_accounts",
    source: file!(),
    description: "with NATS in operator mode (every client a user of the lattice's account), two hosts whose control connection authenticates by JWT and seed and whose RPC connection by a credentials file (two different users) publish host_started, wadm with its own user deploys an application to Deployed, a component is scaled and answers over wRPC, and a provider finds the RPC user's JWT and seed in its host data and answers over wRPC with them",
    area: Area::Host,
    features: FEATURES,
    covers: &["SEC-04", "CFG-01"],
    fixtures: &[PROBE_RUST, INSPECT],
    setup: Setup::hosts(2).with_wadm().nats_auth(false),
    run: accounts,
};

fn accounts(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let auth = crate::steps::nats_auth(&cx)?;
        let hosts = cx.lattice().host_ids();
        for (i, host) in hosts.iter().enumerate() {
            echo_once(&cx, host, &format!("echo-{i}")).await?;
        }
        deploy_through_wadm(&cx, "through-accounts").await?;
        let given = crate::steps::inspect_provider(&cx, &hosts[1], "inspector").await?;
        let rpc = auth.creds(Who::Rpc);
        let data = &given.host_data;
        ensure!(
            data["lattice_rpc_user_jwt"] == rpc.jwt.as_str(),
            "the provider's host data carries RPC JWT {}; the host's RPC user is {}",
            data["lattice_rpc_user_jwt"],
            rpc.jwt
        );
        ensure!(
            data["lattice_rpc_user_seed"] == rpc.seed.as_str(),
            "the provider's host data does not carry the host's RPC seed"
        );
        Ok(())
    })
}

/// SEC-04: the same over TLS with a certificate of the run's own CA.
pub static TLS: ConformanceTest = ConformanceTest {
    name: "host::joins_nats_over_tls",
    source: file!(),
    description: "with NATS requiring TLS (a certificate of the run's own CA) and users, a host trusting the CA (in its system roots, SSL_CERT_FILE) with WASMCLOUD_CTL_TLS / WASMCLOUD_RPC_TLS publishes host_started, a component scaled on it answers over wRPC, and wadm given the CA (WADM_NATS_TLS_CA_FILE) deploys an application; whether a host trusting the CA only through WASMCLOUD_TLS_CA_PATH joins is recorded as an observation",
    area: Area::Host,
    features: FEATURES,
    covers: &["SEC-04", "CFG-01"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1)
        .with_wadm()
        .nats_auth(true)
        .needs_suite_lattice("adds a host of its own"),
    run: tls,
};

fn tls(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let auth = crate::steps::nats_auth(&cx)?;
        let tls = auth
            .tls()
            .context("the lattice's NATS does not require TLS")?;
        echo_once(&cx, &cx.host_id(), "echo-tls").await?;
        deploy_through_wadm(&cx, "over-tls").await?;
        // WASMCLOUD_TLS_CA_PATH alone, with system roots that do not hold the CA.
        let spec = crate::steps::host_env(&[
            ("SSL_CERT_FILE", tls.rogue_ca.display().to_string()),
            ("WASMCLOUD_TLS_CA_PATH", tls.ca.display().to_string()),
        ]);
        if let Err(e) = cx.lattice().add_host(spec).await {
            let e = e.to_string();
            ensure!(
                e.contains("certificate"),
                "a host with the CA in WASMCLOUD_TLS_CA_PATH failed, not on the certificate: {e}"
            );
            cx.observe(
                "a host given the NATS server's CA only in WASMCLOUD_TLS_CA_PATH does not join over TLS (invalid peer certificate: UnknownIssuer): its NATS connections trust the system roots only (catalogue SEC-04)",
            );
        }
        Ok(())
    })
}

/// Every test of this module, in report order.
pub(crate) fn all() -> Vec<&'static ConformanceTest> {
    vec![&ACCOUNTS, &TLS]
}
