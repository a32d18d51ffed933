//! One run of the suite: the lattice scenarios and their anchors, in this order, on one machine.
use std::path::Path;
use std::time::{Duration, Instant};

use crate::generator::http::HttpGet;
use crate::generator::{self, FnTarget, LoadReport, LoadSpec, NatsRequest, Target};
use anyhow::Context as _;
use harness::fixtures::{fixture, FixtureRef, Lang};
use harness::lattice::HostSpec;
use harness::{Backend, Lattice};

use crate::bindings::{echo, runner};
use crate::config::{self, Config, Selection};
use crate::record::{Ceiling, Comparison, LoadRun, Record, Timing};
use crate::{anchors, scenarios};

/// The generator must reach this fraction of wrk's throughput on the same target.
pub const CEILING_TARGET: f64 = 0.9;
/// The window of each round of the ceiling check.
pub const CEILING_WINDOW: Duration = Duration::from_secs(2);
/// Runs whose error rate is above this are a problem.
const MAX_ERROR_RATE: f64 = 0.01;

/// What a finished load run says about the run as a whole.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// About the measurement (the generator was late on this machine): fails a strict run, only
    /// reported by an advisory one.
    Flag(String),
    /// About the target (errors, unsent slots, workers that could not connect): always fails.
    Problem(String),
}

/// The verdicts on one load run (after its retry), labelled.
fn verdicts(label: &str, report: &LoadReport) -> Vec<Verdict> {
    let mut out = Vec::new();
    if let Some(why) = &report.rejected {
        let line = format!("{label}: run rejected: {why}");
        out.push(if report.generator_late {
            Verdict::Flag(line)
        } else {
            Verdict::Problem(line)
        });
    }
    if report.error_rate() > MAX_ERROR_RATE {
        out.push(Verdict::Problem(format!(
            "{label}: error rate {:.2}% ({:?})",
            report.error_rate() * 100.0,
            report.error_samples
        )));
    }
    out
}

/// Runs and records; `anchor_bin` is the `wcc-load-anchor` binary.
pub struct Runner<'a> {
    /// Sizes and durations.
    pub cfg: Config,
    /// What was measured.
    pub rec: Record,
    anchor_bin: &'a Path,
    dir: tempfile::TempDir,
}

impl<'a> Runner<'a> {
    /// A runner; anchor processes log into a temporary directory.
    pub fn new(cfg: Config, anchor_bin: &'a Path) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("wcc-load-").tempdir()?;
        Ok(Self {
            cfg,
            rec: Record::default(),
            anchor_bin,
            dir,
        })
    }

    fn closed(&self) -> LoadSpec {
        LoadSpec::closed(self.cfg.window)
            .warmup(self.cfg.warmup)
            .workers(self.cfg.connections)
    }

    fn open(&self, rate: f64) -> LoadSpec {
        LoadSpec::open(rate, self.cfg.window)
            .warmup(self.cfg.warmup)
            .workers(self.cfg.open_workers)
            .max_lateness_p99(self.cfg.max_lateness)
    }

    /// One load run (a rejected one is retried once), recorded under `label`.
    async fn load<T: Target>(&mut self, label: &str, target: &T, spec: &LoadSpec) -> LoadReport {
        let mut attempts = 0;
        let report = loop {
            attempts += 1;
            let r = generator::run(target, spec).await;
            if r.rejected.is_none() || attempts == 2 {
                break r;
            }
            eprintln!(
                "[load] {label}: rejected ({}), retrying once",
                r.rejected.as_deref().unwrap_or_default()
            );
        };
        eprintln!(
            "[load] {label:<28} {:>9.0} rps  p50 {:>8.0} us  p99 {:>8.0} us  errors {}  lateness p99 {:.0} us",
            report.throughput_rps, report.latency.p50_us, report.latency.p99_us, report.errors, report.lateness.p99_us
        );
        for verdict in verdicts(label, &report) {
            match verdict {
                Verdict::Flag(f) => self.rec.flag(f),
                Verdict::Problem(p) => self.rec.problem(p),
            }
        }
        self.rec.runs.push(LoadRun {
            label: label.into(),
            attempts,
            report: report.clone(),
        });
        report
    }

    /// Peak throughput (closed loop) of both, then latency of both at the same open-loop rate
    /// (a fraction of the lower peak); records throughput, p50 and p99 ratios.
    async fn pair<S: Target, A: Target>(
        &mut self,
        scenario: &str,
        target: &S,
        anchor: &str,
        anchor_target: &A,
    ) {
        let closed = self.closed();
        let a = self
            .load(
                &format!("{anchor}/closed[{scenario}]"),
                anchor_target,
                &closed,
            )
            .await;
        let s = self
            .load(&format!("{scenario}/closed"), target, &closed)
            .await;
        let rate = (self.cfg.open_fraction * a.throughput_rps.min(s.throughput_rps)).max(10.0);
        let ao = self
            .load(
                &format!("{anchor}/open[{scenario}]"),
                anchor_target,
                &self.open(rate),
            )
            .await;
        let so = self
            .load(&format!("{scenario}/open"), target, &self.open(rate))
            .await;
        self.rec.compare(Comparison::new(
            scenario,
            anchor,
            "throughput_rps",
            s.throughput_rps,
            a.throughput_rps,
            true,
        ));
        self.rec.compare(Comparison::new(
            scenario,
            anchor,
            "p50_us",
            so.latency.p50_us,
            ao.latency.p50_us,
            false,
        ));
        self.rec.compare(Comparison::new(
            scenario,
            anchor,
            "p99_us",
            so.latency.p99_us,
            ao.latency.p99_us,
            false,
        ));
    }

    /// Whether a scenario with an optional prerequisite runs ([`config::selection`]): a
    /// deselected one is recorded as not selected, a selected one whose prerequisite is missing
    /// as a problem (which fails the run); neither runs.
    fn selected(&mut self, scenario: &str, missing: Option<&str>) -> bool {
        match config::selection(scenario, &self.cfg.deselect, missing) {
            Selection::Run => true,
            Selection::NotSelected(why) => {
                self.rec.not_selected(scenario, why);
                false
            }
            Selection::Missing(problem) => {
                self.rec.problem(problem);
                false
            }
        }
    }

    /// The whole run.
    pub async fn run(&mut self) -> anyhow::Result<()> {
        config::check_deselect(&self.cfg.deselect).map_err(anyhow::Error::msg)?;
        let http_fixture = fixture(FixtureRef::new("http", Lang::Rust))?;
        let probe = fixture(FixtureRef::new("probe", Lang::Rust))?;
        let runner_fixture = fixture(FixtureRef::new("runner", Lang::Rust))?;
        let dir = self.dir.path().to_path_buf();

        // The generator's ceiling: it against wrk on the same target (the native server), same
        // connections, in rounds of 2 s: wrk, then the generator right after it. This VM's CPU
        // is throttled under sustained load (10 s windows: wrk fell from 97k to 56k rps from one
        // round to the next), so each round compares two neighbours in time and the median of
        // the rounds' ratios counts.
        let native = anchors::native_http(self.anchor_bin, &dir).await?;
        let native_target = HttpGet::new(native.addr.clone(), "/", Some(anchors::HELLO.into()));
        let window = CEILING_WINDOW;
        let closed = LoadSpec::closed(window)
            .warmup(self.cfg.warmup.min(Duration::from_millis(500)))
            .workers(self.cfg.connections);
        let (mut wrk_rps, mut ours_rps) = (Vec::new(), Vec::new());
        for round in 1..=self.cfg.ceiling_rounds {
            wrk_rps.push(anchors::wrk(&native.addr, self.cfg.connections, window, &dir).await?);
            let ours = self
                .load(
                    &format!("native_http/closed#{round}"),
                    &native_target,
                    &closed,
                )
                .await;
            ours_rps.push(ours.throughput_rps);
        }
        eprintln!("[load] ceiling rounds: wrk {wrk_rps:.0?} rps, generator {ours_rps:.0?} rps");
        let mut ratios: Vec<f64> = ours_rps.iter().zip(&wrk_rps).map(|(o, w)| o / w).collect();
        ratios.sort_by(f64::total_cmp);
        let ratio = ratios[ratios.len() / 2];
        let at = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (wrk, ours) = (at(&wrk_rps), at(&ours_rps));
        self.rec.ceiling = Some(Ceiling {
            wrk_rps: wrk_rps.clone(),
            generator_rps: ours_rps.clone(),
            ratio,
        });
        self.rec.compare(Comparison::new(
            "generator",
            "wrk",
            "throughput_rps",
            ratio * wrk,
            wrk,
            true,
        ));
        if ratio < CEILING_TARGET {
            self.rec.flag(format!(
                "the generator reached {ratio:.2}x wrk's throughput (median of {} rounds of wrk then the generator, {}s each; medians {ours:.0} vs {wrk:.0} rps; target >= {CEILING_TARGET})",
                self.cfg.ceiling_rounds,
                window.as_secs()
            ));
        }
        drop(native);

        // wasmtime serve: the anchor of every HTTP scenario, and (its start) of the start scenarios.
        let wasmtime = crate::config::wasmtime_bin();
        let mut serve_starts = Vec::new();
        for _ in 0..self.cfg.repeats {
            let (_server, took) =
                anchors::wasmtime_serve(&wasmtime, &http_fixture.path, &dir).await?;
            serve_starts.push(took);
        }
        let serve_start = self
            .rec
            .timing(Timing::new("wasmtime_serve_start", &serve_starts));
        let (serve, _) = anchors::wasmtime_serve(&wasmtime, &http_fixture.path, &dir).await?;
        let serve_target = HttpGet::new(serve.addr.clone(), "/", Some(anchors::HELLO.into()));

        // One lattice: two hosts (zones a and b) with the builtin HTTP server, and wadm.
        let spec = |zone: &str| HostSpec {
            labels: [("zone".to_string(), zone.to_string())].into(),
            features: vec!["builtin-http-server".into()],
            ..Default::default()
        };
        let lattice = Lattice::builder()
            .hosts(0)
            .host(spec("a"))
            .host(spec("b"))
            .wadm(true)
            .start()
            .await?;
        let result = self
            .on_lattice(
                &lattice,
                &http_fixture.file_ref(),
                &probe.file_ref(),
                &runner_fixture.file_ref(),
                &serve_target,
                serve_start,
            )
            .await;
        if result.is_err() {
            eprintln!("{}", lattice.diagnostics());
        }
        drop(lattice);
        drop(serve);
        result?;

        self.recovery(&probe.file_ref()).await
    }

    async fn on_lattice(
        &mut self,
        lattice: &Lattice,
        http_image: &str,
        probe_image: &str,
        runner_image: &str,
        serve: &HttpGet,
        serve_start_ms: f64,
    ) -> anyhow::Result<()> {
        let hosts = lattice.host_ids();
        let a = hosts[0].clone();
        let instances = self.cfg.connections as u32;
        let dir = self.dir.path().to_path_buf();

        // HTTP through the builtin server.
        scenarios::scale(lattice, &a, http_image, "http-builtin", instances).await?;
        let addr = scenarios::http_server(
            lattice,
            &a,
            "wasmcloud+builtin://http-server",
            "http-server",
            "http-builtin",
        )
        .await
        .context("builtin http server")?;
        let target = HttpGet::new(addr, "/", Some(anchors::HELLO.into()));
        self.pair("http_builtin", &target, "wasmtime_serve", serve)
            .await;

        // HTTP through the upstream HTTP server provider.
        let par = crate::config::http_provider_par();
        let missing = (!par.exists()).then(|| format!("{} is missing", par.display()));
        if self.selected("http_provider", missing.as_deref()) {
            scenarios::scale(lattice, &a, http_image, "http-provider", instances).await?;
            let provider_ref = format!("file://{}", par.display());
            let addr = scenarios::http_server(
                lattice,
                &a,
                &provider_ref,
                "http-provider-0",
                "http-provider",
            )
            .await
            .context("http server provider")?;
            let target = HttpGet::new(addr, "/", Some(anchors::HELLO.into()));
            self.pair("http_provider", &target, "wasmtime_serve", serve)
                .await;
        }

        // wRPC echo called directly, and a component calling another across a link; both against
        // a NATS request-reply round trip through the same server.
        let subject = format!("{}.load.echo", lattice.name());
        let _responder =
            anchors::nats_echo(self.anchor_bin, &lattice.nats_url(), &subject, &dir).await?;
        let nats = NatsRequest::new(lattice.nats().clone(), subject, "ping");
        scenarios::scale(lattice, &a, probe_image, "echo", instances).await?;
        let client = scenarios::echo_client(lattice, "echo").await?;
        let target = FnTarget::new("wrpc echo", move || {
            let c = client.clone();
            async move {
                match echo::echo(c.as_ref(), None, "ping").await {
                    Ok(a) if a == "ping" => Ok(()),
                    Ok(a) => Err(format!("echo answered {a:?}")),
                    Err(e) => Err(format!("{e:#}")),
                }
            }
        });
        self.pair("wrpc_echo", &target, "nats_rtt", &nats).await;
        scenarios::scale(lattice, &a, runner_image, "runner", instances).await?;
        let client = scenarios::runner_client(lattice, "runner", "echo").await?;
        let target = FnTarget::new("wrpc runner.run -> link -> echo", move || {
            let c = client.clone();
            async move {
                match runner::run(c.as_ref(), None, "ping").await {
                    Ok(a) if a == "ping" => Ok(()),
                    Ok(a) => Err(format!("run answered {a:?}")),
                    Err(e) => Err(format!("{e:#}")),
                }
            }
        });
        self.pair("link_call", &target, "nats_rtt", &nats).await;

        // Cold start of a component and start of a host, against wasmtime serve's start.
        let mut colds = Vec::new();
        for i in 0..self.cfg.repeats {
            colds
                .push(scenarios::cold_start(lattice, &a, probe_image, &format!("cold-{i}")).await?);
        }
        let cold = self.rec.timing(Timing::new("cold_start", &colds));
        self.rec.compare(Comparison::new(
            "cold_start",
            "wasmtime_serve_start",
            "time_ms",
            cold,
            serve_start_ms,
            false,
        ));
        let mut starts = Vec::new();
        for _ in 0..self.cfg.repeats {
            starts.push(scenarios::host_start(lattice).await?);
        }
        let host = self.rec.timing(Timing::new("host_start", &starts));
        self.rec.compare(Comparison::new(
            "host_start",
            "wasmtime_serve_start",
            "time_ms",
            host,
            serve_start_ms,
            false,
        ));

        // N instances over the two hosts: through wadm, against the same through ctl directly.
        let zoned: Vec<(String, String)> = vec![
            (hosts[0].clone(), "a".into()),
            (hosts[1].clone(), "b".into()),
        ];
        let n = self.cfg.scale_instances;
        let (mut direct, mut wadm) = (Vec::new(), Vec::new());
        for i in 0..self.cfg.repeats {
            direct.push(
                scenarios::scale_direct(lattice, &zoned, probe_image, &format!("direct{i}"), n)
                    .await?,
            );
            wadm.push(
                scenarios::scale_wadm(lattice, &zoned, probe_image, &format!("wadm{i}"), n).await?,
            );
        }
        let d = self
            .rec
            .timing(Timing::new(format!("scale_ctl_{n}_over_2"), &direct));
        let w = self
            .rec
            .timing(Timing::new(format!("scale_wadm_{n}_over_2"), &wadm));
        self.rec.compare(Comparison::new(
            "scale_wadm",
            "scale_ctl",
            "time_ms",
            w,
            d,
            false,
        ));
        Ok(())
    }

    /// Recovery after a host is killed (containers backend): wadm's time to run the app's
    /// instances again, against the time the same deploy took in the first place.
    async fn recovery(&mut self, probe_image: &str) -> anyhow::Result<()> {
        let missing = harness::containers::unavailable()
            .map(|why| format!("the containers backend cannot run: {why}"));
        if !self.selected("recovery", missing.as_deref()) {
            return Ok(());
        }
        let lattice = Lattice::builder()
            .backend(Backend::Containers)
            .hosts(2)
            .wadm(true)
            .start()
            .await?;
        let hosts = lattice.host_ids();
        let n = 4;
        let (mut deploys, mut recoveries) = (Vec::new(), Vec::new());
        let app = "recover";
        let result: anyhow::Result<()> = async {
            let manifest = harness::manifest::AppBuilder::new(app, "v1")
                .component("echo", probe_image, n)
                .build();
            let start = Instant::now();
            lattice.wadm().put(&manifest).await.context("model.put")?;
            lattice
                .wadm()
                .deploy(app, None)
                .await
                .context("model.deploy")?;
            let on = wait_on_one(&lattice, &hosts, app, n, None).await?;
            deploys.push(start.elapsed());
            let killed = Instant::now();
            lattice.kill_host(&on).await?;
            wait_on_one(&lattice, &hosts, app, n, Some(&on)).await?;
            recoveries.push(killed.elapsed());
            Ok(())
        }
        .await;
        if result.is_err() {
            eprintln!("{}", lattice.diagnostics());
        }
        result?;
        let d = self
            .rec
            .timing(Timing::new("recovery_anchor_deploy", &deploys));
        let r = self
            .rec
            .timing(Timing::new("recovery_after_kill", &recoveries));
        self.rec.compare(Comparison::new(
            "recovery", "deploy", "time_ms", r, d, false,
        ));
        Ok(())
    }
}

/// Waits until `n` instances of `app*` run on one host other than `not_on`; returns that host.
async fn wait_on_one(
    lattice: &Lattice,
    hosts: &[String],
    app: &str,
    n: usize,
    not_on: Option<&str>,
) -> anyhow::Result<String> {
    let candidates: Vec<String> = hosts
        .iter()
        .filter(|h| Some(h.as_str()) != not_on)
        .cloned()
        .collect();
    let candidates = &candidates;
    let found = harness::wait::Wait::new(
        format!("{n} instances of {app} on one host (not {not_on:?})"),
        Duration::from_secs(180),
    )
    .interval(Duration::from_millis(50))
    .until(|_| async move {
        let counts = scenarios::instances(lattice, candidates, app).await;
        match counts.iter().position(|c| *c == n) {
            Some(i) => harness::wait::Probe::Ready(candidates[i].clone()),
            None => harness::wait::Probe::NotYet(format!(
                "instances per host {counts:?} of {candidates:?}"
            )),
        }
    })
    .await?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::{verdicts, Verdict};
    use crate::generator::{LoadReport, Mode};

    fn report(ok: u64, errors: u64) -> LoadReport {
        let mut r = LoadReport::empty("t".into(), Mode::Open { rate: 100.0 }, 4, 2.0);
        r.ok = ok;
        r.errors = errors;
        r
    }

    #[test]
    fn a_late_generator_is_flagged_and_a_failing_target_is_a_problem() {
        assert_eq!(verdicts("x/open", &report(200, 0)), vec![]);

        let mut late = report(197, 0);
        late.rejected = Some("the generator was late: p99 4800 us".into());
        late.generator_late = true;
        assert_eq!(
            verdicts("x/open", &late),
            vec![Verdict::Flag(
                "x/open: run rejected: the generator was late: p99 4800 us".into()
            )]
        );

        let mut unsent = report(197, 0);
        unsent.rejected = Some("7 scheduled requests were never sent".into());
        assert!(
            matches!(&verdicts("x/open", &unsent)[..], [Verdict::Problem(p)] if p.contains("7 scheduled"))
        );

        // 3 errors in 200 is 1.5%, over the 1% limit; a late generator does not excuse them.
        late.errors = 3;
        let v = verdicts("x/open", &late);
        assert!(
            matches!(&v[..], [Verdict::Flag(_), Verdict::Problem(p)] if p.contains("error rate 1.50%")),
            "{v:?}"
        );
        assert_eq!(
            verdicts("x/open", &report(199, 1)),
            vec![],
            "0.5% is within the limit"
        );
    }
}
