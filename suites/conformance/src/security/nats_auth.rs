//! What a NATS server with accounts must refuse (catalogue SEC-04): a host with a user its
//! operator never signed, a host or client that trusts another CA than the server's, an anonymous
//! client; and a client of another account sees nothing of the lattice. That hosts join with the
//! right users is `host::joins_nats_with_accounts`.
use std::time::Duration;

use anyhow::{ensure, Context as _};
use futures::StreamExt as _;
use harness::lattice::HostSpec;
use harness::nats_auth::Who;

use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture, T};

/// Starts a host with `spec` expecting it not to join: its error, and no host_started from it.
async fn refused_host(cx: &Cx, spec: HostSpec) -> anyhow::Result<String> {
    let mark = cx.journal().mark();
    let err = match cx.lattice().add_host(spec).await {
        Ok(h) => anyhow::bail!("the host joined the lattice ({})", h.id),
        Err(e) => e.to_string(),
    };
    let started: Vec<String> = cx
        .journal()
        .since(mark)
        .into_iter()
        .filter(|e| e.kind == "host_started")
        .map(|e| e.source().to_string())
        .collect();
    ensure!(
        started.is_empty(),
        "host_started arrived from {started:?} although the host was refused"
    );
    Ok(err)
}

/// Connects a plain client of the official crate with `options`; the error text if refused.
async fn client_refused(cx: &Cx, options: async_nats::ConnectOptions) -> anyhow::Result<String> {
    let url = cx.lattice().nats_url();
    let attempt = tokio::time::timeout(
        T.attempt,
        options
            .connection_timeout(Duration::from_secs(3))
            .connect(&url),
    )
    .await;
    match attempt {
        Ok(Ok(client)) => {
            // Some refusals only show at the first round trip.
            match tokio::time::timeout(T.attempt, client.flush()).await {
                Ok(Ok(())) => {
                    anyhow::bail!("a client connected to {url} and round-tripped a flush")
                }
                Ok(Err(e)) => Ok(e.to_string()),
                Err(_) => Ok("no round trip".into()),
            }
        }
        Ok(Err(e)) => Ok(e.to_string()),
        Err(_) => Ok(format!("no connection within {:?}", T.attempt)),
    }
}

/// SEC-04: users the operator never signed, and anonymous clients, are refused.
pub static WRONG_CREDS: ConformanceTest = ConformanceTest {
    name: "security::nats_wrong_credentials_refused",
    source: file!(),
    description: "on NATS with accounts, a host whose control user is signed by an account the operator never signed exits with an authorization error and publishes no host_started; a client with no credentials, and one with that user, cannot connect",
    area: Area::Security,
    features: &[Feature::ControlInterface, Feature::LatticeEvents],
    covers: &["SEC-04", "CFG-01"],
    fixtures: &[],
    setup: Setup::hosts(1).nats_auth(false).needs_suite_lattice("adds hosts of its own"),
    run: wrong_creds,
};

fn wrong_creds(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let auth = crate::steps::nats_auth(&cx)?;
        let forged = auth.creds(Who::Forged);
        let err = refused_host(
            &cx,
            crate::steps::host_env(&[
                ("WASMCLOUD_CTL_JWT", forged.jwt.clone()),
                ("WASMCLOUD_CTL_SEED", forged.seed.clone()),
            ]),
        )
        .await?;
        ensure!(
            err.to_lowercase().contains("authorization"),
            "the refused host does not say why (authorization): {err}"
        );
        let anonymous = client_refused(&cx, async_nats::ConnectOptions::new()).await?;
        let file = auth.creds_file(Who::Forged).to_path_buf();
        let with_forged = client_refused(
            &cx,
            async_nats::ConnectOptions::with_credentials_file(file).await?,
        )
        .await?;
        for (who, e) in [("anonymous", &anonymous), ("forged", &with_forged)] {
            ensure!(
                e.to_lowercase().contains("authoriz"),
                "the {who} client was refused, but not for authorization: {e}"
            );
        }
        Ok(())
    })
}

/// SEC-04: a certificate the client's CA did not sign is refused.
pub static UNTRUSTED_CERT: ConformanceTest = ConformanceTest {
    name: "security::nats_untrusted_certificate_refused",
    source: file!(),
    description: "on NATS requiring TLS, a host that trusts only a CA other than the one that signed the server's certificate (its system roots, SSL_CERT_FILE) exits with a certificate error and publishes no host_started; a client with that CA cannot connect, one with the right CA can",
    area: Area::Security,
    features: &[Feature::ControlInterface, Feature::LatticeEvents],
    covers: &["SEC-04", "CFG-01"],
    fixtures: &[],
    setup: Setup::hosts(1).nats_auth(true).needs_suite_lattice("adds hosts of its own"),
    run: untrusted_cert,
};

fn untrusted_cert(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let auth = crate::steps::nats_auth(&cx)?;
        let tls = auth
            .tls()
            .context("the lattice's NATS does not require TLS")?;
        let err = refused_host(
            &cx,
            crate::steps::host_env(&[("SSL_CERT_FILE", tls.rogue_ca.display().to_string())]),
        )
        .await?;
        ensure!(
            err.to_lowercase().contains("certificate") || err.contains("UnknownIssuer"),
            "the refused host does not say its certificate check failed: {err}"
        );
        let creds = auth.creds_file(Who::Harness).to_path_buf();
        let with = |ca: std::path::PathBuf| {
            let creds = creds.clone();
            async move {
                Ok::<_, anyhow::Error>(
                    async_nats::ConnectOptions::with_credentials_file(creds)
                        .await?
                        .add_root_certificates(ca)
                        .require_tls(true),
                )
            }
        };
        let rogue = client_refused(&cx, with(tls.rogue_ca.clone()).await?).await?;
        ensure!(
            rogue.to_lowercase().contains("certificate")
                || rogue.contains("UnknownIssuer")
                || rogue.contains("tls"),
            "the client trusting another CA was refused, but not for its certificate: {rogue}"
        );
        // The same client with the right CA connects: the refusal was the certificate.
        let ok = with(tls.ca.clone())
            .await?
            .connection_timeout(Duration::from_secs(3))
            .connect(cx.lattice().nats_url())
            .await
            .context("a client with the server's CA and the harness's user")?;
        ok.flush().await.context("flush with the server's CA")?;
        Ok(())
    })
}

/// SEC-04: accounts isolate: another account's client sees nothing of the lattice.
pub static OTHER_ACCOUNT: ConformanceTest = ConformanceTest {
    name: "security::nats_other_account_sees_nothing",
    source: file!(),
    description: "on NATS with accounts, a client of another account subscribed to every subject receives nothing while the lattice publishes two heartbeats and a config change, and its ping on the lattice's control subject gets no answer",
    area: Area::Security,
    features: &[Feature::ControlInterface, Feature::LatticeEvents],
    covers: &["SEC-04", "NET-01"],
    fixtures: &[],
    setup: Setup::hosts(1).nats_auth(false),
    run: other_account,
};

fn other_account(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let auth = crate::steps::nats_auth(&cx)?;
        let other = async_nats::ConnectOptions::with_credentials_file(
            auth.creds_file(Who::Other).to_path_buf(),
        )
        .await?
        .connection_timeout(Duration::from_secs(3))
        .connect(cx.lattice().nats_url())
        .await
        .context("a client of the other account")?;
        let mut everything = other.subscribe(">").await?;
        other.flush().await?;
        // The subscription is in place before any of the lattice's messages below.
        let mark = cx.journal().mark();
        crate::steps::put_config(&cx, "seen-by-nobody-else", &[("k", "v")]).await?;
        let host = cx.host_id();
        cx.journal()
            .wait_for(mark, "host_heartbeat", "a heartbeat", T.event, |e| {
                e.source() == host
            })
            .await?;
        let second = cx.journal().mark();
        cx.journal()
            .wait_for(
                second,
                "host_heartbeat",
                "a second heartbeat",
                T.event,
                |e| e.source() == host,
            )
            .await?;
        let subject = format!("wasmbus.ctl.v1.{}.host.ping", cx.lattice().name());
        let ping = tokio::time::timeout(T.attempt, other.request(subject.clone(), "".into())).await;
        let answered = matches!(ping, Ok(Ok(_)));
        ensure!(
            !answered,
            "a client of another account got an answer on {subject}"
        );
        // Everything the server queued for the other client before this barrier has arrived once
        // the barrier does (the server had queued the heartbeats before the harness saw them).
        let barrier = "wcc.barrier";
        other.publish(barrier, "".into()).await?;
        other.flush().await?;
        let mut seen = Vec::new();
        loop {
            let msg = tokio::time::timeout(T.event, everything.next())
                .await
                .context("the other account's own barrier message did not come back")?
                .context("the other account's subscription ended")?;
            if msg.subject.as_str() == barrier {
                break;
            }
            if !msg.subject.starts_with("_INBOX") && msg.subject.as_str() != subject {
                seen.push(msg.subject.to_string());
            }
        }
        ensure!(
            seen.is_empty(),
            "a client of another account received the lattice's messages: {seen:?}"
        );
        Ok(())
    })
}

/// Every test of this module, in report order.
pub(crate) fn all() -> Vec<&'static ConformanceTest> {
    vec![&WRONG_CREDS, &UNTRUSTED_CERT, &OTHER_ACCOUNT]
}
