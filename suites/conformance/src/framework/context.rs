//! What a test body gets: its lattice, fixtures, the redaction policy and an HTTP client.
use std::sync::Arc;

use harness::fixtures::{Fixture, FixtureRef};
use harness::redact::Redactor;
use harness::Lattice;

/// The test context. Cheap to clone; the lattice lives as long as the test.
#[derive(Clone)]
pub struct Cx {
    inner: Arc<Inner>,
}

struct Inner {
    // Field order is drop order: the hosts go before the receiver they export to.
    lattice: Lattice,
    otel: Option<harness::otel::OtlpReceiver>,
    /// Grows when a test hands out a secret ([`Cx::secret`]).
    redactor: std::sync::Mutex<Redactor>,
    http: reqwest::Client,
    /// The cases a property test drew (recorded in its report line).
    draw: std::sync::Mutex<Option<conformance_report::PropertyDraw>>,
    /// Known divergences observed (recorded in its report line).
    observations: std::sync::Mutex<Vec<String>>,
    /// The convergences of the body's waits (recorded in its report line).
    recorder: harness::wait::Recorder,
    /// Fixtures the hosts pull from a registry instead of loading a file ([`Cx::image`]).
    images: std::collections::HashMap<FixtureRef, String>,
}

impl Cx {
    pub(crate) fn new(
        lattice: Lattice,
        otel: Option<harness::otel::OtlpReceiver>,
        images: std::collections::HashMap<FixtureRef, String>,
    ) -> Self {
        let redactor = Redactor::for_lattice(&lattice);
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .no_proxy()
            .build()
            .expect("a default reqwest client builds");
        Self {
            inner: Arc::new(Inner {
                lattice,
                otel,
                redactor: std::sync::Mutex::new(redactor),
                http,
                draw: std::sync::Mutex::new(None),
                observations: std::sync::Mutex::new(Vec::new()),
                recorder: harness::wait::Recorder::default(),
                images,
            }),
        }
    }

    /// The lattice under test.
    pub fn lattice(&self) -> &Lattice {
        &self.inner.lattice
    }

    /// The OTLP receiver the hosts export to (tests whose setup asks for `otel()`).
    pub fn otel(&self) -> anyhow::Result<&harness::otel::OtlpReceiver> {
        self.inner
            .otel
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("this test's setup runs no OTLP receiver (Setup::otel)"))
    }

    /// Shortcut for `lattice().ctl()`.
    pub fn ctl(&self) -> &harness::ctl::Ctl {
        self.inner.lattice.ctl()
    }

    /// Shortcut for `lattice().wadm()`.
    pub fn wadm(&self) -> &harness::wadm::Wadm {
        self.inner.lattice.wadm()
    }

    /// Shortcut for `lattice().journal()`.
    pub fn journal(&self) -> &harness::journal::Journal {
        self.inner.lattice.journal()
    }

    /// The first host's ID.
    pub fn host_id(&self) -> String {
        self.inner
            .lattice
            .host_ids()
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    /// A fixture declared by the test (resolved before the body runs).
    pub fn fixture(&self, reference: FixtureRef) -> anyhow::Result<Fixture> {
        Ok(harness::fixtures::fixture(reference)?)
    }

    /// The reference a host is given to run `reference`: the registry's when the run pushed the
    /// fixtures to one (`run --registry`), else the fixture's `file://` path.
    pub fn image(&self, reference: FixtureRef) -> anyhow::Result<String> {
        match self.inner.images.get(&reference) {
            Some(image) => Ok(image.clone()),
            None => Ok(self.fixture(reference)?.file_ref()),
        }
    }

    /// The redaction policy, primed with this lattice's identity and the secrets handed out.
    pub fn redactor(&self) -> Redactor {
        self.inner
            .redactor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Makes `value` a secret of this test: the redaction policy knows it from now on, and the
    /// test's failure message, observations and diagnostics show `[secret]` in its place.
    pub fn secret(&self, value: &str) {
        let mut redactor = self
            .inner
            .redactor
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *redactor = std::mem::take(&mut *redactor).secret(value);
    }

    /// `text` with the test's secrets replaced (see [`Cx::secret`]); nothing else changes.
    pub fn scrub(&self, text: &str) -> String {
        self.inner
            .redactor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .scrub_secrets(text)
    }

    /// The generated cases for a property test (`WCC_PROPTEST_CASES` from `WCC_PROPTEST_SEED`,
    /// see [`super::properties`]); the count and the seed go into the test's report record.
    pub fn draw(&self) -> anyhow::Result<super::properties::Draw> {
        let draw = super::properties::Draw::from_env()?;
        let record = conformance_report::PropertyDraw {
            cases: draw.cases,
            seed: draw.seed.to_string(),
        };
        *self.inner.draw.lock().unwrap_or_else(|e| e.into_inner()) = Some(record);
        Ok(draw)
    }

    /// What [`Cx::draw`] drew, if the test drew cases.
    pub(crate) fn drawn(&self) -> Option<conformance_report::PropertyDraw> {
        self.inner
            .draw
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Records a known divergence the test observed instead of failing on: a sentence naming what
    /// diverges, where, and the evidence. It goes into the test's report record (and its output);
    /// the same sentence twice is kept once.
    pub fn observe(&self, observation: impl Into<String>) {
        let observation = self.scrub(&observation.into());
        let mut all = self
            .inner
            .observations
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if !all.contains(&observation) {
            println!("observed: {observation}");
            all.push(observation);
        }
    }

    /// Runs `body` keeping the convergences of its waits (see [`Cx::converged`]).
    pub(crate) async fn recording<F: std::future::Future>(&self, body: F) -> F::Output {
        self.inner.recorder.scope(body).await
    }

    /// The convergences the body's waits recorded, as the report keeps them.
    pub(crate) fn converged(&self) -> Vec<conformance_report::Convergence> {
        self.inner
            .recorder
            .take()
            .into_iter()
            .map(|c| conformance_report::Convergence {
                kind: c.kind.to_string(),
                what: c.what,
                ms: u64::try_from(c.elapsed.as_millis()).unwrap_or(u64::MAX),
                attempts: c.attempts,
            })
            .collect()
    }

    /// What [`Cx::observe`] recorded.
    pub(crate) fn observed(&self) -> Vec<String> {
        self.inner
            .observations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// An HTTP client (10 s timeout, no proxy).
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }
}
