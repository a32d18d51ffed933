//! The NATS server of a lattice: the official `nats-server` with JetStream, on a random
//! loopback port, storing JetStream data in the lattice's own directory.
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use crate::error::HarnessError;
use crate::nats_auth::{NatsAuth, Who};
use crate::process::ManagedProcess;
use crate::wait::{Probe, Wait};

static LISTENING: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"Listening for client connections on 127\.0\.0\.1:(\d+)")
        .expect("valid regex")
});
static READY: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"Server is ready").expect("valid regex"));

pub(crate) struct NatsServer {
    pub(crate) process: ManagedProcess,
    pub(crate) port: u16,
}

impl NatsServer {
    /// Starts nats-server and waits until it answers a client.
    /// Returns the server and the client that proved it ready.
    pub(crate) async fn start(
        bin: &Path,
        dir: &Path,
        timeout: Duration,
        js_domain: Option<&str>,
        auth: Option<&NatsAuth>,
    ) -> Result<(Self, async_nats::Client), HarnessError> {
        let store = dir.join("jetstream");
        let mut args = Vec::new();
        // The domain and the accounts have no flags: a config file with them, the flags below on
        // top.
        let mut conf = String::new();
        if let Some(domain) = js_domain {
            conf.push_str(&format!("jetstream {{\n  domain: \"{domain}\"\n}}\n"));
        }
        if let Some(auth) = auth {
            let certs = auth.tls().map(|t| t.cert.clone()).unwrap_or_default();
            let cert_dir = certs
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            conf.push_str(&auth.server_config(&cert_dir));
        }
        if !conf.is_empty() {
            let path = dir.join("nats.conf");
            std::fs::write(&path, conf).map_err(HarnessError::io("write nats-server's config"))?;
            args.extend(["--config".to_string(), path.display().to_string()]);
        }
        args.extend([
            "--jetstream".to_string(),
            "--addr".into(),
            "127.0.0.1".into(),
            "--port".into(),
            "-1".into(),
            "--store_dir".into(),
            store.display().to_string(),
        ]);
        let mut process = ManagedProcess::spawn("nats-server", bin, &args, &[], dir)?;
        let port = process
            .wait_for_log("nats-server to listen", &LISTENING, timeout, |c| {
                c[1].parse::<u16>().ok()
            })
            .await?
            .ok_or_else(|| HarnessError::Config("nats-server printed an invalid port".into()))?;
        process
            .wait_for_log("nats-server to be ready", &READY, timeout, |_| ())
            .await?;
        let server = Self { process, port };
        // Ready by protocol: a client connects and round-trips a flush.
        let url = server.url();
        let client = connect_with(&url, "wcc-harness", ClientAuth::of(auth)).await?;
        wait_flush(&client, &url, timeout).await?;
        Ok((server, client))
    }

    pub(crate) fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

/// Waits until `client` round-trips a flush with the server at `url` (ready by protocol).
pub(crate) async fn wait_flush(
    client: &async_nats::Client,
    url: &str,
    timeout: Duration,
) -> Result<(), HarnessError> {
    Wait::new(format!("nats-server at {url} to answer a flush"), timeout)
        .until(|_| {
            let client = client.clone();
            async move {
                match client.flush().await {
                    Ok(()) => Probe::Ready(()),
                    Err(e) => Probe::NotYet(e.to_string()),
                }
            }
        })
        .await?;
    Ok(())
}

/// How a client of the harness authenticates: a credentials file, and a CA to trust when the
/// server requires TLS.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ClientAuth<'a> {
    pub(crate) creds: Option<&'a Path>,
    pub(crate) ca: Option<&'a Path>,
}

impl<'a> ClientAuth<'a> {
    /// The harness's own user of a lattice's [`NatsAuth`], if it has one.
    pub(crate) fn of(auth: Option<&'a NatsAuth>) -> Self {
        match auth {
            Some(a) => Self {
                creds: Some(a.creds_file(Who::Harness)),
                ca: a.tls().map(|t| t.ca.as_path()),
            },
            None => Self::default(),
        }
    }
}

/// Connects a client, bounded in time, with a clear error when NATS is unreachable; with a NATS
/// credentials file (`.creds`) and a CA when the server needs them.
pub(crate) async fn connect_with(
    url: &str,
    name: &str,
    auth: ClientAuth<'_>,
) -> Result<async_nats::Client, HarnessError> {
    let options = match auth.creds {
        Some(path) => {
            check_creds(path)?;
            async_nats::ConnectOptions::with_credentials_file(path)
                .await
                .map_err(|e| HarnessError::Credentials {
                    path: path.to_path_buf(),
                    problem: e.to_string(),
                })?
        }
        None => async_nats::ConnectOptions::new(),
    };
    let options = match auth.ca {
        Some(ca) => options
            .add_root_certificates(ca.to_path_buf())
            .require_tls(true),
        None => options,
    };
    let options = options
        .name(name)
        .connection_timeout(Duration::from_secs(5))
        .request_timeout(Some(Duration::from_secs(10)));
    match tokio::time::timeout(Duration::from_secs(10), options.connect(url)).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(HarnessError::NatsConnect {
            url: url.to_string(),
            message: e.to_string(),
        }),
        Err(_) => Err(HarnessError::NatsConnect {
            url: url.to_string(),
            message: "no answer within 10 s".into(),
        }),
    }
}

/// Checks that a credentials file exists and is readable before any connection is tried.
pub(crate) fn check_creds(path: &Path) -> Result<(), HarnessError> {
    std::fs::read_to_string(path)
        .map(|_| ())
        .map_err(|e| HarnessError::Credentials {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })
}
