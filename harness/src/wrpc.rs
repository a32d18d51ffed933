//! wRPC clients for component exports (NET-08): the official NATS transport with prefix
//! `<lattice>.<component_id>`, and [`call`], the bounded way to make a call that resends what
//! reached no subscriber.
//!
//! wrpc-transport-nats 0.31 is used because 0.29 drops about 1% of replies in a client-side race
//! (its reply subscription could be registered after the reply arrived; fixed upstream in
//! bytecodealliance/wrpc#1272). It is built on async-nats 0.49, so wRPC gets its own NATS
//! connection; the control-interface and wadm clients stay on the version their crates use.
use std::time::Duration;

use crate::error::HarnessError;

/// The bound a call that should answer gets by default (scaled by `WCC_TIMEOUT_SCALE`): long
/// enough for a host to compile a large component on first use.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A wRPC call got no answer in time.
#[derive(Debug, thiserror::Error)]
#[error("no answer within {timeout:?} ({unanswered} send(s) reached no subscriber){}", last.as_deref().map(|l| format!("; last: {l}")).unwrap_or_default())]
pub struct NoAnswer {
    /// The bound (already scaled by `WCC_TIMEOUT_SCALE`).
    pub timeout: Duration,
    /// How many sends NATS reported as reaching no subscriber.
    pub unanswered: u32,
    /// The last such error, when the bound ran out while nobody was subscribed.
    pub last: Option<String>,
}

/// Makes one wRPC call with `call` (e.g. a `wit-bindgen-wrpc` binding on a
/// [`crate::lattice::Lattice::wrpc_client`]), bounded by `timeout` (scaled by `WCC_TIMEOUT_SCALE`).
///
/// A send that reached nobody (NATS "no responders", which the transport reports as an
/// `io::ErrorKind::NotConnected` in the error's chain) is sent again within the bound: a host can
/// publish `component_scaled` before its wRPC subscription for the component is live. Nothing was
/// delivered, so sending again is safe even for a call that changes state. Any other error, and
/// any answer, is returned as it is.
///
/// ```no_run
/// # async fn f(lattice: &harness::Lattice) -> anyhow::Result<()> {
/// # async fn echo(_: &wrpc_transport_nats::Client, _: &str) -> anyhow::Result<String> { Ok(String::new()) }
/// let client = lattice.wrpc_client("echo").await?;
/// let got = harness::wrpc::call(std::time::Duration::from_secs(30), || echo(&client, "hi")).await?;
/// # Ok(()) }
/// ```
pub async fn call<T, E, F, Fut>(timeout: Duration, mut call: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: From<NoAnswer> + AsRef<dyn std::error::Error + Send + Sync + 'static>,
{
    const RESEND_AFTER: Duration = Duration::from_millis(50);
    let limit = crate::wait::scaled(timeout);
    let started = std::time::Instant::now();
    let mut unanswered = 0u32;
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, call()).await {
            Err(_) => {
                return Err(E::from(NoAnswer {
                    timeout: limit,
                    unanswered,
                    last: None,
                }))
            }
            Ok(Err(e)) if reached_nobody(e.as_ref()) => {
                unanswered += 1;
                if started.elapsed() + RESEND_AFTER >= limit {
                    return Err(E::from(NoAnswer {
                        timeout: limit,
                        unanswered,
                        last: Some(e.as_ref().to_string()),
                    }));
                }
                tokio::time::sleep(RESEND_AFTER).await;
            }
            Ok(result) => return result,
        }
    }
}

/// Whether `e` is the transport's error for a request no subscriber received (NATS 503 "no
/// responders"): an `io::ErrorKind::NotConnected` somewhere in its chain.
fn reached_nobody(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(err) = next {
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::NotConnected)
        {
            return true;
        }
        next = err.source();
    }
    false
}

/// Headers of a wRPC invocation (e.g. a W3C `traceparent`).
pub use async_nats_wrpc::HeaderMap;

/// A client whose invocations go to `<lattice>.<component_id>.wrpc.0.0.1.<instance>.<function>`,
/// on its own connection to `nats_url` (the address the harness reaches NATS at, which is not
/// what a containerised server reports about itself).
pub async fn client(
    nats_url: &str,
    lattice: &str,
    component_id: &str,
) -> Result<wrpc_transport_nats::Client, HarnessError> {
    client_with(
        nats_url,
        crate::nats::ClientAuth::default(),
        lattice,
        component_id,
    )
    .await
}

/// [`client`] with a NATS credentials file and a CA (an existing lattice's NATS, or one with
/// accounts, may need them).
pub(crate) async fn client_with(
    nats_url: &str,
    auth: crate::nats::ClientAuth<'_>,
    lattice: &str,
    component_id: &str,
) -> Result<wrpc_transport_nats::Client, HarnessError> {
    let url = nats_url.to_string();
    let options = match auth.creds {
        Some(path) => async_nats_wrpc::ConnectOptions::with_credentials_file(path)
            .await
            .map_err(|e| HarnessError::Credentials {
                path: path.to_path_buf(),
                problem: e.to_string(),
            })?,
        None => async_nats_wrpc::ConnectOptions::new(),
    };
    let options = match auth.ca {
        Some(ca) => options
            .add_root_certificates(ca.to_path_buf())
            .require_tls(true),
        None => options,
    };
    let options = options
        .name("wcc-wrpc")
        .connection_timeout(Duration::from_secs(5));
    let wrpc_nats = match tokio::time::timeout(Duration::from_secs(10), options.connect(&url)).await
    {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => {
            return Err(HarnessError::NatsConnect {
                url,
                message: e.to_string(),
            })
        }
        Err(_) => {
            return Err(HarnessError::NatsConnect {
                url,
                message: "no answer within 10 s".into(),
            })
        }
    };
    wrpc_transport_nats::Client::new(wrpc_nats, format!("{lattice}.{component_id}"), None)
        .await
        .map_err(|e| HarnessError::request(format!("create wRPC client for {component_id}"), e))
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::time::Duration;

    /// An error type like anyhow's: convertible from `NoAnswer`, readable as a std error.
    #[derive(Debug)]
    struct Boxed(Box<dyn std::error::Error + Send + Sync>);
    impl From<super::NoAnswer> for Boxed {
        fn from(e: super::NoAnswer) -> Self {
            Self(Box::new(e))
        }
    }
    impl AsRef<dyn std::error::Error + Send + Sync + 'static> for Boxed {
        fn as_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            &*self.0
        }
    }
    fn nobody() -> Boxed {
        Boxed(Box::new(io::Error::new(
            io::ErrorKind::NotConnected,
            "no responders",
        )))
    }

    #[tokio::test]
    async fn a_send_that_reached_nobody_is_sent_again() {
        let mut sends = 0;
        let got: Result<u32, Boxed> = super::call(Duration::from_secs(5), || {
            sends += 1;
            let n = sends;
            async move {
                if n < 3 {
                    Err(nobody())
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(got.unwrap(), 3);
    }

    #[tokio::test]
    async fn the_cause_is_found_under_anyhow_context() {
        // What a wit-bindgen-wrpc binding returns when NATS has no responder.
        let nobody = || {
            anyhow::Error::from(io::Error::from(io::ErrorKind::NotConnected))
                .context("failed to shutdown synchronous parameter channel")
        };
        assert!(super::reached_nobody(nobody().as_ref()));
        let timed_out = anyhow::Error::from(io::Error::from(io::ErrorKind::TimedOut));
        assert!(!super::reached_nobody(timed_out.as_ref()));
        assert!(!super::reached_nobody(
            anyhow::anyhow!("not connected").as_ref()
        ));
        let mut sends = 0;
        let got: anyhow::Result<u32> = super::call(Duration::from_secs(5), || {
            sends += 1;
            let n = sends;
            async move {
                if n < 2 {
                    Err(nobody())
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(got.unwrap(), 2);
    }

    #[tokio::test]
    async fn another_error_is_returned_at_once() {
        let mut sends = 0;
        let got: Result<(), Boxed> = super::call(Duration::from_secs(5), || {
            sends += 1;
            async { Err(Boxed(Box::new(io::Error::other("trap")))) }
        })
        .await;
        assert_eq!(got.unwrap_err().0.to_string(), "trap");
        assert_eq!(sends, 1);
    }

    #[tokio::test]
    async fn the_bound_holds_and_says_what_was_seen() {
        let got: Result<(), Boxed> =
            super::call(Duration::from_millis(200), || async { Err(nobody()) }).await;
        let msg = got.unwrap_err().0.to_string();
        assert!(
            msg.contains("reached no subscriber") && msg.contains("no responders"),
            "{msg}"
        );
        let got: Result<(), Boxed> = super::call(Duration::from_millis(100), || {
            std::future::pending::<Result<(), Boxed>>()
        })
        .await;
        assert!(got
            .unwrap_err()
            .0
            .to_string()
            .starts_with("no answer within"));
    }
}
