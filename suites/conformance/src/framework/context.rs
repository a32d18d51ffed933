//! What a test body gets: its lattice, fixtures, the redaction policy and an HTTP client.
use std::collections::HashMap;
use std::sync::Arc;

use harness::fixtures::{Fixture, FixtureRef};
use harness::redact::Redactor;
use harness::Lattice;

/// The test context. Cheap to clone; the lattice lives as long as the last test on it (one test,
/// or the tests of a share group inside the runner, see [`Cx::sibling`]).
#[derive(Clone)]
pub struct Cx {
    on: Arc<OnLattice>,
    inner: Arc<Inner>,
}

/// What the tests on one lattice have in common.
struct OnLattice {
    // Field order is drop order: the hosts go before the receiver they export to.
    lattice: Lattice,
    otel: Option<harness::otel::OtlpReceiver>,
    http: reqwest::Client,
    /// Fixtures the hosts pull from a registry instead of loading a file ([`Cx::image`]).
    images: HashMap<FixtureRef, String>,
    /// The outcome of each step done once per lattice ([`Cx::once`]), by key.
    once: std::sync::Mutex<HashMap<String, Arc<OnceOutcome>>>,
}

/// The outcome of a step done once per lattice: its value, or its error as text.
type OnceOutcome = tokio::sync::OnceCell<Result<String, String>>;

/// What belongs to one test.
struct Inner {
    /// Grows when a test hands out a secret ([`Cx::secret`]).
    redactor: std::sync::Mutex<Redactor>,
    /// The cases a property test drew (recorded in its report line).
    draw: std::sync::Mutex<Option<conformance_report::PropertyDraw>>,
    /// Known divergences observed (recorded in its report line).
    observations: std::sync::Mutex<Vec<String>>,
    /// The convergences of the body's waits (recorded in its report line).
    recorder: harness::wait::Recorder,
}

impl Inner {
    fn for_lattice(lattice: &Lattice) -> Self {
        Self {
            redactor: std::sync::Mutex::new(Redactor::for_lattice(lattice)),
            draw: std::sync::Mutex::new(None),
            observations: std::sync::Mutex::new(Vec::new()),
            recorder: harness::wait::Recorder::default(),
        }
    }
}

impl Cx {
    pub(crate) fn new(
        lattice: Lattice,
        otel: Option<harness::otel::OtlpReceiver>,
        images: HashMap<FixtureRef, String>,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .no_proxy()
            .build()
            .expect("a default reqwest client builds");
        Self {
            inner: Arc::new(Inner::for_lattice(&lattice)),
            on: Arc::new(OnLattice {
                lattice,
                otel,
                http,
                images,
                once: Default::default(),
            }),
        }
    }

    /// The context of another test on the same lattice: the lattice, its receiver and the steps
    /// done once ([`Cx::once`]) are shared; secrets, draws, observations and convergences are the
    /// new test's own. The runner gives each test of a share group one (see `Setup::shared`).
    pub(crate) fn sibling(&self) -> Self {
        Self {
            on: self.on.clone(),
            inner: Arc::new(Inner::for_lattice(&self.on.lattice)),
        }
    }

    /// Does `step` once per lattice under `key`, and hands every test that asks for `key` on
    /// this lattice the same outcome: a value (e.g. the id of a component it scaled) or the
    /// error. A test alone on its lattice does the step itself, as if there were no sharing;
    /// tests sharing a lattice ([`Cx::sibling`]) wait for the first one's step and all fail
    /// if it failed, so sharing cannot turn a failed step into a pass.
    pub async fn once<F, Fut>(&self, key: &str, step: F) -> anyhow::Result<String>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<String>>,
    {
        let cell = self
            .on
            .once
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_string())
            .or_default()
            .clone();
        let mut ran_here = false;
        let outcome = cell
            .get_or_init(|| async {
                ran_here = true;
                step().await.map_err(|e| format!("{e:#}"))
            })
            .await;
        match (outcome, ran_here) {
            (Ok(value), _) => Ok(value.clone()),
            (Err(e), true) => Err(anyhow::anyhow!("{e}")),
            (Err(e), false) => Err(anyhow::anyhow!(
                "the shared step `{key}` failed in an earlier test on this lattice: {e}"
            )),
        }
    }

    /// The lattice under test.
    pub fn lattice(&self) -> &Lattice {
        &self.on.lattice
    }

    /// The OTLP receiver the hosts export to (tests whose setup asks for `otel()`).
    pub fn otel(&self) -> anyhow::Result<&harness::otel::OtlpReceiver> {
        self.on
            .otel
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("this test's setup runs no OTLP receiver (Setup::otel)"))
    }

    /// Shortcut for `lattice().ctl()`.
    pub fn ctl(&self) -> &harness::ctl::Ctl {
        self.on.lattice.ctl()
    }

    /// Shortcut for `lattice().wadm()`.
    pub fn wadm(&self) -> &harness::wadm::Wadm {
        self.on.lattice.wadm()
    }

    /// Shortcut for `lattice().journal()`.
    pub fn journal(&self) -> &harness::journal::Journal {
        self.on.lattice.journal()
    }

    /// The first host's ID.
    pub fn host_id(&self) -> String {
        self.on
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
        match self.on.images.get(&reference) {
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
        &self.on.http
    }
}
