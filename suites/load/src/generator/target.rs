//! What a load run calls: a [`Target`] hands every worker its own [`Caller`] (e.g. its own
//! connection), so workers share nothing on the hot path.
use std::future::Future;

/// Something to put under load.
pub trait Target: Send + Sync {
    /// One worker's handle on the target.
    type Caller: Caller;
    /// Makes a worker's caller (connects, if the target needs a connection).
    fn caller(&self) -> impl Future<Output = Result<Self::Caller, String>> + Send;
    /// A short name for reports (`http://127.0.0.1:8080/`, `nats:subject`, ...).
    fn describe(&self) -> String;
}

/// One worker's handle: sends one request and waits for its complete, checked answer.
pub trait Caller: Send + 'static {
    /// One request; `Err` carries what was wrong with the answer (or why there was none).
    fn call(&mut self) -> impl Future<Output = Result<(), String>> + Send;
}

/// A target made of a closure returning the future of one call (e.g. a generated wRPC binding
/// invoked on a shared client).
pub struct FnTarget<F> {
    name: String,
    f: F,
}

impl<F> FnTarget<F> {
    /// `f()` is one call.
    pub fn new(name: impl Into<String>, f: F) -> Self {
        Self {
            name: name.into(),
            f,
        }
    }
}

impl<F, Fut> Target for FnTarget<F>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    type Caller = FnCaller<F>;

    async fn caller(&self) -> Result<Self::Caller, String> {
        Ok(FnCaller(self.f.clone()))
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

/// The caller of a [`FnTarget`].
pub struct FnCaller<F>(F);

impl<F, Fut> Caller for FnCaller<F>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    fn call(&mut self) -> impl Future<Output = Result<(), String>> + Send {
        (self.0)()
    }
}

/// NATS request-reply on `subject`, the reply must equal the payload (an echo responder).
/// Workers share one client (NATS multiplexes requests over a connection).
#[derive(Clone)]
pub struct NatsRequest {
    client: async_nats::Client,
    subject: String,
    payload: bytes::Bytes,
}

impl NatsRequest {
    /// Requests on `subject` carrying `payload`, through `client`.
    pub fn new(
        client: async_nats::Client,
        subject: impl Into<String>,
        payload: impl Into<bytes::Bytes>,
    ) -> Self {
        Self {
            client,
            subject: subject.into(),
            payload: payload.into(),
        }
    }
}

impl Target for NatsRequest {
    type Caller = NatsRequest;

    async fn caller(&self) -> Result<Self::Caller, String> {
        Ok(self.clone())
    }

    fn describe(&self) -> String {
        format!("nats request {}", self.subject)
    }
}

impl Caller for NatsRequest {
    async fn call(&mut self) -> Result<(), String> {
        let reply = self
            .client
            .request(self.subject.clone(), self.payload.clone())
            .await
            .map_err(|e| e.to_string())?;
        if reply.payload == self.payload {
            Ok(())
        } else {
            Err(format!(
                "reply {} bytes differs from the {}-byte payload",
                reply.payload.len(),
                self.payload.len()
            ))
        }
    }
}
