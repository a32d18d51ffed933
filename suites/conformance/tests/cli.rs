//! The `wasmcloud-conformance` command line, run as a built binary: every bad input ends with its
//! own exit code (the table in `src/cli/exit.rs`) and a message on stderr that names the problem.
//! Two tests stand up a real lattice (`--filter host::inventory`, a few seconds); the rest need none.
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use conformance_report::catalogue::Catalogue;
use conformance_report::report::{
    content_sha256, Implementation, Report, RunInfo, Selection, TestRecord, SEAL_FIELD,
};
use conformance_suite::framework::Status;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_wasmcloud-conformance");

const OK: i32 = 0;
const FAILED: i32 = 1;
const USAGE: i32 = 2;
const BINARY: i32 = 3;
const UNKNOWN_SELECTION: i32 = 4;
const NOTHING_SELECTED: i32 = 5;
const EXPECTATIONS: i32 = 6;
const RESULTS: i32 = 7;
const UNREADABLE: i32 = 8;
const NOT_JSON: i32 = 9;
const SCHEMA: i32 = 10;
const INCONSISTENT: i32 = 11;
const UNKNOWN_ITEM: i32 = 12;
const TAMPERED: i32 = 13;
const CATALOGUE: i32 = 14;
const BACKEND: i32 = 15;
const TARGET_INCOMPLETE: i32 = 16;
const NATS_UNREACHABLE: i32 = 17;
const NO_HOSTS: i32 = 18;
const CREDENTIALS: i32 = 19;
const CATALOGUE_MISMATCH: i32 = 20;

/// The variables that point the runner at other binaries or targets; tests set them explicitly.
const ENV: [&str; 13] = [
    "WCC_TIMEOUT_SCALE",
    "WCC_HOST_BIN",
    "WCC_WADM_BIN",
    "WCC_NATS_SERVER_BIN",
    "WCC_BACKEND",
    "WCC_HOST_IMAGE",
    "WCC_WADM_IMAGE",
    "WCC_NATS_IMAGE",
    "WCC_TARGET_UNSUPPORTED",
    "WCC_TARGET",
    "WCC_NATS_URL",
    "WCC_NATS_CREDS",
    "WCC_LATTICE",
];

fn cmd(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args);
    for v in ENV {
        c.env_remove(v);
    }
    c.envs(env.iter().copied());
    c.output().expect("the wasmcloud-conformance binary runs")
}

/// Asserts the exit code and that stderr (or stdout, for `OK`) contains each needle.
#[track_caller]
fn expect(out: &Output, code: i32, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit code\n--- stderr ---\n{stderr}\n--- stdout ---\n{stdout}"
    );
    let text = if code == OK {
        format!("{stdout}{stderr}")
    } else {
        stderr.clone()
    };
    for n in needles {
        assert!(
            text.contains(n),
            "{n:?} not in the output\n--- stderr ---\n{stderr}\n--- stdout ---\n{stdout}"
        );
    }
    text
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temp dir")
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

fn executable(dir: &Path, name: &str, script: &str) -> PathBuf {
    let p = write(dir, name, script);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// A small catalogue (HL-05, HL-06, Q-03) for the verify tests: its text.
fn small_catalogue_text(version: &str) -> String {
    let mut t = format!(
        "[catalogue]\nversion = \"{version}\"\n[catalogue.upstream]\nhost = \"wasmcloud 1.9.2\"\nhost_crate = \"wasmcloud-host 0.27.1\"\nwadm = \"wadm 0.21.1\"\nbranch = \"release-1.9.x\"\n"
    );
    for (id, area) in [
        ("HL-05", "host-lifecycle"),
        ("HL-06", "host-lifecycle"),
        ("Q-03", "quirks"),
    ] {
        t.push_str(&format!(
            "\n[[item]]\nid = \"{id}\"\narea = \"{area}\"\ntitle = \"t\"\ncontract = \"c\"\nobserved = \"o\"\nsource = \"W:s\"\nstatus = \"plain\"\n"
        ));
    }
    t
}

/// The small catalogue the sample reports name.
fn small_catalogue() -> Catalogue {
    Catalogue::parse(&small_catalogue_text("small/r1")).unwrap()
}

/// The small catalogue, written into `dir` for `--catalogue`.
fn catalogue(dir: &Path) -> PathBuf {
    write(dir, "catalogue.toml", &small_catalogue_text("small/r1"))
}

fn record(name: &str, status: Status, covers: &[&str]) -> TestRecord {
    TestRecord {
        name: name.into(),
        description: "d".into(),
        area: "host".into(),
        features: vec!["control-interface".into()],
        covers: covers.iter().map(ToString::to_string).collect(),
        status: status.into(),
        duration_seconds: 1.25,
        message: (status != Status::Passed).then(|| "expected x, saw y".to_string()),
        expected_failure_reason: None,
        log_dir: None,
        phases: None,
        property: None,
        observations: vec![],
        convergences: vec![],
        shared_lattice: None,
    }
}

/// A sealed report as `run` writes it.
fn report(statuses: &[(&str, Status)]) -> Value {
    let tests = statuses
        .iter()
        .map(|(n, s)| record(n, *s, &["HL-05", "Q-03"]))
        .collect();
    let run = RunInfo {
        backend: "processes".into(),
        seed: 7,
        selection: Selection {
            profile: "extended".into(),
            ..Default::default()
        },
        catalogue: Some(small_catalogue().reference()),
        ..Default::default()
    };
    let r = Report::new(
        Implementation {
            name: "reference".into(),
            ..Default::default()
        },
        run,
        "2026-11-24T10:00:00Z".into(),
        tests,
    );
    serde_json::to_value(&r).unwrap()
}

fn sample() -> Value {
    report(&[
        ("host::ping", Status::Passed),
        ("host::inventory", Status::Passed),
    ])
}

fn reseal(mut doc: Value) -> Value {
    doc[SEAL_FIELD] = json!(content_sha256(&doc));
    doc
}

fn write_json(dir: &Path, name: &str, doc: &Value) -> PathBuf {
    write(dir, name, &serde_json::to_string_pretty(doc).unwrap())
}

fn verify(dir: &Path, report: &Path) -> Output {
    let cat = catalogue(dir);
    cmd(
        &[
            "verify",
            report.to_str().unwrap(),
            "--catalogue",
            cat.to_str().unwrap(),
        ],
        &[],
    )
}

// ---- command line -----------------------------------------------------------------------------

#[test]
fn help_documents_the_exit_codes_and_profiles() {
    expect(
        &cmd(&["--help"], &[]),
        OK,
        &[
            "Exit codes:",
            " 13  verify: content_sha256",
            "core",
            "[[known-failure]]",
        ],
    );
}

#[test]
fn unknown_subcommand() {
    expect(
        &cmd(&["frobnicate"], &[]),
        USAGE,
        &["unrecognized subcommand 'frobnicate'"],
    );
}

#[test]
fn unknown_flag() {
    expect(
        &cmd(&["run", "--bogus"], &[]),
        USAGE,
        &["unexpected argument '--bogus'"],
    );
}

#[test]
fn jobs_zero() {
    expect(
        &cmd(&["run", "--jobs", "0"], &[]),
        USAGE,
        &["--jobs", "'0'"],
    );
}

#[test]
fn jobs_not_a_number() {
    expect(
        &cmd(&["run", "--jobs", "many"], &[]),
        USAGE,
        &["--jobs", "'many'"],
    );
}

#[test]
fn jobs_too_many() {
    expect(
        &cmd(&["run", "--jobs", "17"], &[]),
        USAGE,
        &["--jobs", "'17'"],
    );
}

#[test]
fn implementation_name_that_is_not_a_folder_name() {
    expect(
        &cmd(&["run", "--implementation", "../escape"], &[]),
        USAGE,
        &["--implementation", "../escape"],
    );
}

#[test]
fn verify_without_a_report_argument() {
    expect(&cmd(&["verify"], &[]), USAGE, &["<REPORT>"]);
}

#[test]
fn diff_with_one_report() {
    expect(&cmd(&["diff", "a.json"], &[]), USAGE, &["<B>"]);
}

// ---- selection --------------------------------------------------------------------------------

#[test]
fn unknown_profile() {
    expect(
        &cmd(&["run", "--profile", "gold"], &[]),
        UNKNOWN_SELECTION,
        &["unknown profile `gold`", "core, extended"],
    );
}

#[test]
fn unknown_feature() {
    expect(
        &cmd(&["run", "--feature", "teleport"], &[]),
        UNKNOWN_SELECTION,
        &["unknown feature `teleport` in --feature", "wadm"],
    );
}

#[test]
fn unknown_feature_declared_unsupported_by_the_target() {
    let out = cmd(&["run"], &[("WCC_TARGET_UNSUPPORTED", "wadm,wadmm")]);
    expect(
        &out,
        UNKNOWN_SELECTION,
        &["unknown feature `wadmm` in WCC_TARGET_UNSUPPORTED"],
    );
}

#[test]
fn filter_matching_nothing() {
    expect(
        &cmd(&["run", "--filter", "no_such_test_anywhere"], &[]),
        NOTHING_SELECTED,
        &["no test matches", "no_such_test_anywhere"],
    );
}

#[test]
fn profile_and_feature_with_no_test_in_common() {
    // `core` excludes every test relying on wadm, by definition.
    expect(
        &cmd(&["run", "--profile", "core", "--feature", "wadm"], &[]),
        NOTHING_SELECTED,
        &["no test matches profile `core`", "wadm"],
    );
}

#[test]
fn list_of_an_unknown_profile() {
    expect(
        &cmd(&["list", "--profile", "platinum"], &[]),
        UNKNOWN_SELECTION,
        &["unknown profile `platinum`"],
    );
}

// ---- expectation files ------------------------------------------------------------------------

fn run_with_expectations(content: &str) -> Output {
    let dir = tmp();
    let file = write(dir.path(), "acme.toml", content);
    cmd(
        &[
            "run",
            "--implementation",
            "acme",
            "--expectations",
            file.to_str().unwrap(),
        ],
        &[],
    )
}

#[test]
fn malformed_expectation_file() {
    expect(
        &run_with_expectations("[[known-failure]\ntest = 1\n"),
        EXPECTATIONS,
        &["expectation file", "acme.toml", "malformed"],
    );
}

#[test]
fn expectation_naming_an_unknown_test() {
    let out =
        run_with_expectations("[[known-failure]]\ntest = \"host::no_such_test\"\nreason = \"x\"\n");
    expect(&out, EXPECTATIONS, &["unknown test `host::no_such_test`"]);
}

#[test]
fn expectation_without_a_reason() {
    let out = run_with_expectations("[[known-failure]]\ntest = \"host::inventory_of_idle_host\"\n");
    expect(&out, EXPECTATIONS, &["missing field `reason`"]);
}

#[test]
fn expectation_with_an_unknown_key() {
    let out = run_with_expectations("[[known-failure]]\ntest = \"host::inventory_of_idle_host\"\nreason = \"x\"\nuntil = \"2027\"\n");
    expect(&out, EXPECTATIONS, &["unknown field `until`"]);
}

#[test]
fn expectation_file_that_does_not_exist() {
    let out = cmd(&["run", "--expectations", "/nonexistent/acme.toml"], &[]);
    expect(
        &out,
        EXPECTATIONS,
        &["/nonexistent/acme.toml", "cannot read"],
    );
}

// ---- binaries under test ----------------------------------------------------------------------

fn run_with_env(env: &[(&str, &str)]) -> Output {
    cmd(&["run", "--filter", "host::inventory"], env)
}

#[test]
fn missing_host_binary() {
    let out = run_with_env(&[("WCC_HOST_BIN", "/nonexistent/wasmcloud")]);
    expect(
        &out,
        BINARY,
        &[
            "wasmCloud host binary not usable at /nonexistent/wasmcloud",
            "WCC_HOST_BIN",
        ],
    );
}

#[test]
fn host_binary_flag_beside_its_variable() {
    // The flag wins over the variable, and its errors are the variable's.
    let out = cmd(
        &[
            "run",
            "--filter",
            "host::inventory",
            "--host-bin",
            "/nonexistent/by-flag",
        ],
        &[("WCC_HOST_BIN", "/nonexistent/by-variable")],
    );
    let text = expect(
        &out,
        BINARY,
        &["wasmCloud host binary not usable at /nonexistent/by-flag"],
    );
    assert!(!text.contains("by-variable"), "{text}");
    for (flag, what) in [("--wadm-bin", "wadm"), ("--nats-server-bin", "nats-server")] {
        let path = format!("/nonexistent/{what}");
        expect(
            &cmd(&["run", "--filter", "host::inventory", flag, &path], &[]),
            BINARY,
            &[&format!("not usable at {path}")],
        );
    }
}

#[test]
fn timeout_scale_that_is_not_a_number() {
    // The variable is refused like the flag: same message, same exit code.
    for (args, env) in [
        (vec!["run", "--timeout-scale", "abc"], vec![]),
        (vec!["run"], vec![("WCC_TIMEOUT_SCALE", "abc")]),
    ] {
        expect(
            &cmd(&args, &env),
            USAGE,
            &[
                "'abc' is not a timeout factor",
                "--timeout-scale",
                "WCC_TIMEOUT_SCALE",
            ],
        );
    }
}

#[test]
fn non_executable_host_binary() {
    let dir = tmp();
    let file = write(dir.path(), "wasmcloud", "#!/bin/sh\n");
    expect(
        &run_with_env(&[("WCC_HOST_BIN", file.to_str().unwrap())]),
        BINARY,
        &["not executable", "WCC_HOST_BIN"],
    );
}

#[test]
fn directory_as_host_binary() {
    let dir = tmp();
    expect(
        &run_with_env(&[("WCC_HOST_BIN", dir.path().to_str().unwrap())]),
        BINARY,
        &["not a regular file"],
    );
}

#[test]
fn host_binary_that_exits_at_once() {
    let dir = tmp();
    let bin = executable(dir.path(), "wasmcloud", "#!/bin/sh\nexit 3\n");
    let out = run_with_env(&[("WCC_HOST_BIN", bin.to_str().unwrap())]);
    expect(
        &out,
        BINARY,
        &["does not answer --version", bin.to_str().unwrap()],
    );
}

#[test]
fn missing_nats_server_binary() {
    let out = run_with_env(&[("WCC_NATS_SERVER_BIN", "/nonexistent/nats-server")]);
    expect(
        &out,
        BINARY,
        &[
            "nats-server binary not usable at /nonexistent/nats-server",
            "WCC_NATS_SERVER_BIN",
        ],
    );
}

#[test]
fn missing_wadm_binary() {
    let out = run_with_env(&[("WCC_WADM_BIN", "/nonexistent/wadm")]);
    expect(
        &out,
        BINARY,
        &[
            "wadm binary not usable at /nonexistent/wadm",
            "WCC_WADM_BIN",
        ],
    );
}

// ---- results directory ------------------------------------------------------------------------

#[test]
fn results_directory_under_a_regular_file() {
    let dir = tmp();
    let file = write(dir.path(), "not-a-dir", "");
    let results = file.join("results");
    let out = cmd(
        &[
            "run",
            "--filter",
            "host::inventory",
            "--results",
            results.to_str().unwrap(),
        ],
        &[],
    );
    expect(
        &out,
        RESULTS,
        &[
            "cannot create the results directory",
            "not-a-dir/results",
            "--results",
        ],
    );
}

// ---- verify -----------------------------------------------------------------------------------

#[test]
fn verify_a_fresh_report() {
    let dir = tmp();
    let r = write_json(dir.path(), "report.json", &sample());
    expect(&verify(dir.path(), &r), OK, &["verifies"]);
}

#[test]
fn verify_a_missing_file() {
    let dir = tmp();
    expect(
        &verify(dir.path(), &dir.path().join("nope.json")),
        UNREADABLE,
        &["cannot read", "nope.json"],
    );
}

#[test]
fn verify_a_directory() {
    let dir = tmp();
    expect(
        &verify(dir.path(), dir.path()),
        UNREADABLE,
        &["cannot read"],
    );
}

#[test]
fn verify_non_json() {
    let dir = tmp();
    let r = write(dir.path(), "report.json", "<html>not json</html>");
    expect(&verify(dir.path(), &r), NOT_JSON, &["not JSON"]);
}

#[test]
fn verify_an_empty_file() {
    let dir = tmp();
    let r = write(dir.path(), "report.json", "");
    expect(&verify(dir.path(), &r), NOT_JSON, &["not JSON", "EOF"]);
}

#[test]
fn verify_json_that_is_not_a_report() {
    let dir = tmp();
    let r = write(
        dir.path(),
        "report.json",
        r#"{"schema": "something/else", "tests": 3}"#,
    );
    expect(
        &verify(dir.path(), &r),
        SCHEMA,
        &[
            "does not match report-v1.schema.json",
            "at /schema",
            "at /tests",
            "`summary` is missing",
        ],
    );
}

#[test]
fn verify_a_report_with_an_unknown_status() {
    let dir = tmp();
    let mut doc = sample();
    doc["tests"][1]["status"] = json!("mostly-passed");
    let r = write_json(dir.path(), "report.json", &reseal(doc));
    expect(
        &verify(dir.path(), &r),
        SCHEMA,
        &["at /tests/1/status", "mostly-passed"],
    );
}

#[test]
fn verify_a_tampered_report() {
    let dir = tmp();
    let mut doc = sample();
    doc["tests"][0]["duration_seconds"] = json!(0.5);
    let r = write_json(dir.path(), "report.json", &doc);
    expect(
        &verify(dir.path(), &r),
        TAMPERED,
        &["content_sha256", "changed after the run"],
    );
}

#[test]
fn verify_a_report_with_edited_counts() {
    let dir = tmp();
    let mut doc = report(&[
        ("host::ping", Status::Passed),
        ("host::inventory", Status::Failed),
    ]);
    doc["summary"]["passed"] = json!(2);
    doc["summary"]["failed"] = json!(0);
    let r = write_json(dir.path(), "report.json", &reseal(doc));
    expect(
        &verify(dir.path(), &r),
        INCONSISTENT,
        &["summary counts 2 passed, 0 failed", "1 passed, 1 failed"],
    );
}

#[test]
fn verify_a_report_covering_an_unknown_catalogue_item() {
    let dir = tmp();
    let mut doc = sample();
    doc["tests"][0]["covers"] = json!(["HL-05", "Q-03", "ZZ-99"]);
    doc["coverage"]["ZZ-99"] = json!(["host::ping"]);
    let r = write_json(dir.path(), "report.json", &reseal(doc));
    expect(
        &verify(dir.path(), &r),
        UNKNOWN_ITEM,
        &["ZZ-99", "is not in the catalogue", "host::ping"],
    );
}

#[test]
fn verify_with_a_missing_catalogue() {
    let dir = tmp();
    let r = write_json(dir.path(), "report.json", &sample());
    let out = cmd(
        &[
            "verify",
            r.to_str().unwrap(),
            "--catalogue",
            "/nonexistent/catalogue.toml",
        ],
        &[],
    );
    expect(
        &out,
        CATALOGUE,
        &[
            "cannot read the catalogue /nonexistent/catalogue.toml",
            "--catalogue",
        ],
    );
}

#[test]
fn verify_with_a_catalogue_that_is_not_valid() {
    let dir = tmp();
    let r = write_json(dir.path(), "report.json", &sample());
    let bad = write(
        dir.path(),
        "catalogue.toml",
        &small_catalogue_text("small/r1").replace("HL-06", "HL-05"),
    );
    expect(
        &cmd(
            &[
                "verify",
                r.to_str().unwrap(),
                "--catalogue",
                bad.to_str().unwrap(),
            ],
            &[],
        ),
        CATALOGUE,
        &["is not valid", "HL-05 is defined twice"],
    );
}

#[test]
fn verify_a_report_of_another_catalogue_names_both() {
    let dir = tmp();
    let r = write_json(dir.path(), "report.json", &sample());
    // Against the suite's own catalogue (the default): the report names the small one.
    let ours = conformance_suite::catalogue();
    expect(
        &cmd(&["verify", r.to_str().unwrap()], &[]),
        CATALOGUE_MISMATCH,
        &[
            "the report names catalogue small/r1",
            small_catalogue().sha256(),
            ours.version(),
            ours.sha256(),
            "--catalogue FILE",
        ],
    );
    // Against a catalogue of the same version with other content.
    let other = write(
        dir.path(),
        "other.toml",
        &format!("{}\n# edited\n", small_catalogue_text("small/r1")),
    );
    expect(
        &cmd(
            &[
                "verify",
                r.to_str().unwrap(),
                "--catalogue",
                other.to_str().unwrap(),
            ],
            &[],
        ),
        CATALOGUE_MISMATCH,
        &["the same version with other content"],
    );
}

#[test]
fn verify_a_report_that_names_no_catalogue() {
    let dir = tmp();
    let mut doc = sample();
    doc.as_object_mut().unwrap().remove("catalogue");
    let r = write_json(dir.path(), "report.json", &reseal(doc));
    expect(
        &verify(dir.path(), &r),
        CATALOGUE_MISMATCH,
        &["the report names no catalogue", "small/r1"],
    );
}

#[test]
fn verify_a_report_of_the_suites_own_catalogue_by_default() {
    let dir = tmp();
    let mut doc = sample();
    doc["catalogue"] = json!(conformance_suite::catalogue().reference());
    let r = write_json(dir.path(), "report.json", &reseal(doc));
    expect(
        &cmd(&["verify", r.to_str().unwrap()], &[]),
        OK,
        &["verifies", conformance_suite::catalogue().version()],
    );
}

#[test]
fn coverage_counts_from_the_suites_catalogue() {
    let c = conformance_suite::catalogue();
    let out = expect(
        &cmd(&["coverage"], &[]),
        OK,
        &[&format!("Catalogue {}: ", c.version())],
    );
    assert!(
        out.contains(&format!(" of {} items are checked by tests;", c.count())),
        "{out}"
    );
    let dir = tmp();
    expect(
        &cmd(
            &[
                "coverage",
                "--catalogue",
                catalogue(dir.path()).to_str().unwrap(),
            ],
            &[],
        ),
        OK,
        &["Catalogue small/r1: ", " of 3 items are checked by tests;"],
    );
}

// ---- diff -------------------------------------------------------------------------------------

#[test]
fn diff_of_a_missing_file() {
    let dir = tmp();
    let a = write_json(dir.path(), "a.json", &sample());
    let out = cmd(&["diff", a.to_str().unwrap(), "/nonexistent/b.json"], &[]);
    expect(&out, UNREADABLE, &["cannot read /nonexistent/b.json"]);
}

#[test]
fn diff_of_non_json() {
    let dir = tmp();
    let a = write_json(dir.path(), "a.json", &sample());
    let b = write(dir.path(), "b.json", "passed: 3");
    expect(
        &cmd(&["diff", a.to_str().unwrap(), b.to_str().unwrap()], &[]),
        NOT_JSON,
        &["b.json: not JSON"],
    );
}

#[test]
fn diff_of_json_that_is_not_a_report() {
    let dir = tmp();
    let a = write(dir.path(), "a.json", "[1, 2, 3]");
    let b = write_json(dir.path(), "b.json", &sample());
    expect(
        &cmd(&["diff", a.to_str().unwrap(), b.to_str().unwrap()], &[]),
        SCHEMA,
        &["a.json: not a wasmcloud-conformance/report/v1 report"],
    );
}

#[test]
fn diff_of_equal_and_of_differing_reports() {
    let dir = tmp();
    let a = write_json(dir.path(), "a.json", &sample());
    let same = write_json(dir.path(), "same.json", &sample());
    let out = cmd(&["diff", a.to_str().unwrap(), same.to_str().unwrap()], &[]);
    expect(&out, OK, &["no test differs (2 compared)"]);
    let b = write_json(
        dir.path(),
        "b.json",
        &report(&[
            ("host::ping", Status::Failed),
            ("host::extra", Status::Passed),
        ]),
    );
    let out = cmd(&["diff", a.to_str().unwrap(), b.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(FAILED));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for n in [
        "host::ping",
        "passed -> failed",
        "only in a (1)",
        "host::inventory",
        "only in b (1)",
        "host::extra",
        "3 test(s) differ",
    ] {
        assert!(stdout.contains(n), "{n:?} not in\n{stdout}");
    }
}

#[test]
fn diff_warns_about_a_tampered_report() {
    let dir = tmp();
    let a = write_json(dir.path(), "a.json", &sample());
    let mut doc = sample();
    doc["seed"] = json!(8);
    let b = write_json(dir.path(), "b.json", &doc);
    let out = cmd(&["diff", a.to_str().unwrap(), b.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(OK));
    assert!(String::from_utf8_lossy(&out.stderr).contains("b.json: content_sha256 does not match"));
}

// ---- real runs (one small lattice each) -------------------------------------------------------

/// The newest run's report (`<version>/latest/report.json`) of the one host version folder.
fn the_report(results: &Path, implementation: &str) -> PathBuf {
    let dir = results.join(implementation);
    let version = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .expect("a host version folder")
        .unwrap()
        .path();
    version.join("latest").join("report.json")
}

#[test]
fn a_real_run_writes_a_report_that_verifies() {
    let dir = tmp();
    let results = dir.path().join("results");
    let out = cmd(
        &[
            "run",
            "--filter",
            "host::inventory",
            "--results",
            results.to_str().unwrap(),
            "--seed",
            "5",
            "--run-id",
            "first",
            "--outputs",
            dir.path().join("outputs").to_str().unwrap(),
        ],
        &[],
    );
    expect(
        &out,
        OK,
        &[
            "[  1/1, 0 left] PASS  host::inventory_of_idle_host",
            "wasmcloud-conformance: PASSED: 1 passed",
            "seed 5",
        ],
    );
    let report = the_report(&results, "reference");
    let run_dir = report.parent().unwrap().canonicalize().unwrap();
    assert_eq!(
        run_dir.file_name().unwrap(),
        "first",
        "latest links to the run's folder"
    );
    for f in [
        "junit.xml",
        "summary.md",
        "report.html",
        "badge.svg",
        "bundle.tar.gz",
    ] {
        assert!(run_dir.join(f).is_file(), "{f} written");
    }
    // The outputs a CI step reads: where the files are, the counts and the verdict.
    let outputs = std::fs::read_to_string(dir.path().join("outputs")).unwrap();
    for line in [
        format!("report-dir={}", run_dir.display()),
        format!("bundle={}", run_dir.join("bundle.tar.gz").display()),
        format!("badge={}", run_dir.join("badge.svg").display()),
        "passed=1".into(),
        "failed=0".into(),
        "skipped=0".into(),
        "total=1".into(),
        "verdict=pass".into(),
    ] {
        assert!(
            outputs.lines().any(|l| l == line),
            "{line:?} not in\n{outputs}"
        );
    }
    // The bundle verifies (report and badge), as does the report with the badge beside it.
    expect(
        &cmd(
            &["verify", run_dir.join("bundle.tar.gz").to_str().unwrap()],
            &[],
        ),
        OK,
        &["verifies"],
    );
    // A run id used before is refused before anything runs: runs never overwrite each other.
    let again = cmd(
        &[
            "run",
            "--filter",
            "host::inventory",
            "--results",
            results.to_str().unwrap(),
            "--run-id",
            "first",
        ],
        &[],
    );
    expect(&again, RESULTS, &["run id `first` was used before"]);
    assert!(run_dir.join("report.json").is_file());
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(doc["seed"], 5);
    assert_eq!(doc["selection"]["filters"], json!(["host::inventory"]));
    // Against the suite's own catalogue (the default), which the run named.
    assert_eq!(
        doc["catalogue"],
        json!(conformance_suite::catalogue().reference())
    );
    expect(
        &cmd(&["verify", report.to_str().unwrap()], &[]),
        OK,
        &["verifies"],
    );
    expect(
        &cmd(
            &["diff", report.to_str().unwrap(), report.to_str().unwrap()],
            &[],
        ),
        OK,
        &["no test differs (1 compared)"],
    );
}

/// Writes `report` (a sealed sample) into `dir` with its badge, as a run does, and bundles them.
fn bundle_of(dir: &Path, report: &Report, badge: Option<String>) -> PathBuf {
    let json = write(
        dir,
        "report.json",
        &(serde_json::to_string_pretty(report).unwrap() + "\n"),
    );
    let mut files = vec![json];
    if let Some(svg) = badge {
        files.push(write(dir, "badge.svg", &svg));
    }
    conformance_report::bundle::write(dir, &files, report).unwrap()
}

#[test]
fn verify_checks_the_badge_of_a_bundle_or_beside_a_report() {
    let report: Report = serde_json::from_value(sample()).unwrap();
    let badge = conformance_report::badge::render(&report);

    let good = tmp();
    let bundle = bundle_of(good.path(), &report, Some(badge.clone()));
    expect(&verify(good.path(), &bundle), OK, &["verifies"]);
    // report.json with its badge beside it.
    let json = good.path().join("report.json");
    expect(&verify(good.path(), &json), OK, &["verifies"]);

    // A badge edited to name another implementation than its report.
    let edited = tmp();
    let lie = badge.replace("reference ·", "acme ·");
    assert_ne!(lie, badge);
    let bundle = bundle_of(edited.path(), &report, Some(lie));
    expect(
        &verify(edited.path(), &bundle),
        TAMPERED,
        &["its badge", "does not show what it says"],
    );
    expect(
        &verify(edited.path(), &edited.path().join("report.json")),
        TAMPERED,
        &["the badge beside it"],
    );

    // Another report's badge.
    let other = tmp();
    let mut doc = sample();
    doc["seed"] = json!(77);
    let other_report: Report = serde_json::from_value(reseal(doc)).unwrap();
    let bundle = bundle_of(
        other.path(),
        &report,
        Some(conformance_report::badge::render(&other_report)),
    );
    expect(
        &verify(other.path(), &bundle),
        TAMPERED,
        &["belongs to another report"],
    );

    // A bundle without a badge, and a file that is gzip but no tar.
    let bare = tmp();
    let bundle = bundle_of(bare.path(), &report, None);
    expect(
        &verify(bare.path(), &bundle),
        INCONSISTENT,
        &["holds no badge.svg"],
    );
    let junk = tmp();
    let gz = junk.path().join("bundle.tar.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 0, 1, 2, 3]).unwrap();
    expect(
        &verify(junk.path(), &gz),
        UNREADABLE,
        &["not a readable bundle"],
    );
}

#[test]
fn a_bad_run_id_or_outputs_path_is_refused_before_running() {
    let dir = tmp();
    for id in ["latest", "../up", ""] {
        let out = cmd(
            &[
                "run",
                "--run-id",
                id,
                "--results",
                dir.path().to_str().unwrap(),
            ],
            &[],
        );
        expect(&out, USAGE, &["--run-id"]);
    }
    let out = cmd(
        &[
            "run",
            "--outputs",
            dir.path().join("no/such/dir/out").to_str().unwrap(),
            "--results",
            dir.path().to_str().unwrap(),
        ],
        &[],
    );
    expect(
        &out,
        RESULTS,
        &["cannot append the run's outputs", "no/such/dir"],
    );
}

#[test]
fn a_known_failure_that_passes_fails_the_run() {
    let dir = tmp();
    let results = dir.path().join("results");
    let exp = write(
        dir.path(),
        "acme.toml",
        "[[known-failure]]\ntest = \"host::inventory_of_idle_host\"\nreason = \"ACME-7\"\n",
    );
    let out = cmd(
        &[
            "run",
            "--filter",
            "host::inventory",
            "--implementation",
            "acme",
            "--expectations",
            exp.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
        ],
        &[],
    );
    expect(
        &out,
        FAILED,
        &[
            "UNEXPECTED PASS",
            "FAILED: 0 passed, 0 failed, 0 skipped, 0 error, 1 unexpected pass (of 1)",
        ],
    );
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(the_report(&results, "acme")).unwrap())
            .unwrap();
    assert_eq!(doc["tests"][0]["status"], "unexpected-pass");
    assert_eq!(doc["tests"][0]["expected_failure_reason"], "ACME-7");
    assert_eq!(doc["summary"]["unexpected_pass"], 1);
}

// ---- backends and vendor images -----------------------------------------------------------------

#[test]
fn unknown_backend() {
    expect(
        &cmd(&["run", "--backend", "vms"], &[]),
        USAGE,
        &["expected `processes` or `containers`"],
    );
}

#[test]
fn images_on_the_processes_backend() {
    expect(
        &cmd(
            &[
                "run",
                "--filter",
                "host::inventory",
                "--backend",
                "processes",
                "--host-image",
                "acme/wasmcloud:1",
            ],
            &[],
        ),
        USAGE,
        &[
            "WCC_HOST_IMAGE=acme/wasmcloud:1",
            "only on the containers backend",
        ],
    );
}

#[test]
fn containers_backend_without_a_docker_engine() {
    let dir = tmp();
    let socket = dir.path().join("no-engine.sock");
    expect(
        &cmd(
            &[
                "run",
                "--filter",
                "host::inventory",
                "--backend",
                "containers",
            ],
            &[("DOCKER_HOST", &format!("unix://{}", socket.display()))],
        ),
        BACKEND,
        &[
            "containers backend cannot run",
            "no Docker engine answers",
            "ci/setup-docker",
        ],
    );
}

#[test]
fn image_that_does_not_exist() {
    let out = cmd(
        &[
            "run",
            "--filter",
            "host::inventory",
            "--host-image",
            "wcc-test/no-such-image:0",
        ],
        &[],
    );
    match harness::containers::unavailable() {
        // Without an engine the backend is refused before any image is looked at.
        Some(_) if !harness::containers::required() => {
            expect(&out, BACKEND, &["no Docker engine answers"]);
        }
        _ => {
            expect(
                &out,
                BINARY,
                &[
                    "WCC_HOST_IMAGE=wcc-test/no-such-image:0",
                    "no such image on the local Docker engine",
                    "nothing is pulled",
                ],
            );
        }
    }
}

/// The vendor flow with images: the reference host image under a vendor's name, run by
/// `--host-image`; the report names the backend and the image with its ID.
#[test]
fn a_vendor_image_run_records_the_image() {
    // Without an engine the test fails (a skip is never a pass); `bash ci/test` leaves it out when
    // no engine answers outside CI (nextest profile `no-docker`), and nextest counts it skipped.
    if let Some(why) = harness::containers::unavailable() {
        panic!(
            "this test needs a Docker engine, which cannot run here: {why}\n  fix: start one \
             (`bash ci/setup-docker`), or leave the test out: `bash ci/test` does when no engine \
             answers outside CI (nextest profile `no-docker`)"
        );
    }
    let image = reference_images().host;
    let vendor = format!("wcc-test/vendor-host:{}", std::process::id());
    let tag = Command::new("docker")
        .args(["tag", &image, &vendor])
        .output()
        .expect("docker tag runs");
    assert!(
        tag.status.success(),
        "docker tag: {}",
        String::from_utf8_lossy(&tag.stderr)
    );
    let dir = tmp();
    let results = dir.path().join("results");
    let out = cmd(
        &[
            "run",
            "--filter",
            "host::inventory",
            "--implementation",
            "acme",
            "--host-image",
            &vendor,
            "--results",
            results.to_str().unwrap(),
        ],
        &[],
    );
    let _ = Command::new("docker").args(["rmi", &vendor]).output();
    expect(&out, OK, &["wasmcloud-conformance: PASSED: 1 passed"]);
    let report = the_report(&results, "acme");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    expect(
        &cmd(&["verify", report.to_str().unwrap()], &[]),
        OK,
        &["verifies"],
    );
    assert_eq!(doc["backend"], "containers");
    assert_eq!(doc["implementation"]["host"]["image"], vendor.as_str());
    assert!(
        doc["implementation"]["host"]["image_id"]
            .as_str()
            .is_some_and(|i| i.starts_with("sha256:")),
        "{doc:#}"
    );
    assert!(
        doc["implementation"]["host"]["version"]
            .as_str()
            .is_some_and(|v| v.contains("1.9")),
        "{doc:#}"
    );
}

// ---- --target existing: a lattice the suite only connects to ----

#[test]
fn existing_target_without_a_nats_url() {
    let out = cmd(&["run", "--target", "existing", "--lattice", "x"], &[]);
    expect(&out, TARGET_INCOMPLETE, &["--nats-url", "WCC_NATS_URL"]);
}

#[test]
fn existing_target_with_a_creds_file_that_does_not_exist() {
    let out = cmd(
        &["run", "--target", "existing", "--lattice", "x"],
        &[
            ("WCC_NATS_URL", "nats://127.0.0.1:1"),
            ("WCC_NATS_CREDS", "/nonexistent/acme.creds"),
        ],
    );
    expect(
        &out,
        CREDENTIALS,
        &["/nonexistent/acme.creds", "--nats-creds"],
    );
}

#[test]
fn existing_target_with_unreachable_nats_answers_in_bounded_time() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("nats://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let out = cmd(
        &[
            "run",
            "--target",
            "existing",
            "--nats-url",
            &url,
            "--lattice",
            "x",
        ],
        &[],
    );
    expect(&out, NATS_UNREACHABLE, &[&url]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

/// A NATS server with no host of the named lattice: the bounded ping finds none.
#[tokio::test(flavor = "multi_thread")]
async fn existing_target_with_a_lattice_that_has_no_hosts() {
    let lattice = harness::Lattice::builder().hosts(0).start().await.unwrap();
    let url = lattice.nats_url();
    let out = tokio::task::spawn_blocking(move || {
        cmd(
            &[
                "run",
                "--target",
                "existing",
                "--nats-url",
                &url,
                "--lattice",
                "nobody-here",
            ],
            &[],
        )
    })
    .await
    .unwrap();
    expect(&out, NO_HOSTS, &["nobody-here", "no host answered"]);
}

/// An existing lattice whose NATS has accounts and requires TLS (catalogue SEC-04): the runner
/// connects with `--nats-creds` and `--nats-tls-ca` and runs an eligible test; without the CA it
/// cannot connect, and with a user of another account it finds no host.
#[tokio::test(flavor = "multi_thread")]
async fn existing_target_with_nats_accounts_and_tls() {
    let lattice = harness::Lattice::builder()
        .hosts(1)
        .nats_auth(harness::lattice::AuthMode { tls: true })
        .start()
        .await
        .unwrap();
    let auth = lattice.nats_auth().unwrap();
    let creds = auth
        .creds_file(harness::nats_auth::Who::Harness)
        .display()
        .to_string();
    let other = auth
        .creds_file(harness::nats_auth::Who::Other)
        .display()
        .to_string();
    let ca = auth.tls().unwrap().ca.display().to_string();
    let (url, name) = (lattice.nats_url(), lattice.name().to_string());
    let dir = tmp();
    let results = dir.path().join("results");
    let run = move |extra: Vec<String>| {
        let mut args: Vec<String> = [
            "run",
            "--target",
            "existing",
            "--nats-url",
            &url,
            "--lattice",
            &name,
            "--implementation",
            "acme",
            "--results",
            results.to_str().unwrap(),
            "--filter",
            "config::put_get_delete",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        args.extend(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cmd(&args, &[])
    };
    let run = std::sync::Arc::new(run);
    let with = |extra: &[&str]| {
        let run = run.clone();
        let extra: Vec<String> = extra.iter().map(ToString::to_string).collect();
        tokio::task::spawn_blocking(move || run(extra))
    };
    let out = with(&["--nats-creds", &creds, "--nats-tls-ca", &ca])
        .await
        .unwrap();
    expect(&out, OK, &["PASSED"]);
    let out = with(&["--nats-creds", &creds]).await.unwrap();
    expect(&out, NATS_UNREACHABLE, &["certificate"]);
    let out = with(&["--nats-creds", &other, "--nats-tls-ca", &ca])
        .await
        .unwrap();
    expect(&out, NO_HOSTS, &["no host answered"]);
    let out = with(&[
        "--nats-creds",
        &creds,
        "--nats-tls-ca",
        "/nonexistent/ca.pem",
    ])
    .await
    .unwrap();
    expect(&out, CREDENTIALS, &["/nonexistent/ca.pem", "--nats-tls-ca"]);
}

/// An existing lattice whose hosts refuse file:// loads and pull from an OCI registry: with
/// `--registry` the runner pushes the fixture components and provider archives there and the
/// tests that need only them run (their file-load need met by the registry); tests that write files of their own stay
/// skipped; without `--registry` the same tests are skipped for the declared missing file-load.
#[tokio::test(flavor = "multi_thread")]
async fn existing_target_pulls_fixtures_from_a_registry() {
    let registry = harness::registry::Registry::start(
        harness::Backend::Processes,
        harness::registry::RegistryOptions::default(),
    )
    .await
    .unwrap();
    // One host, and only this one: it refuses file:// and pulls from the registry over HTTP.
    let lattice = harness::Lattice::builder()
        .hosts(0)
        .host(harness::lattice::HostSpec {
            deny_file_load: true,
            env: vec![(
                "WASMCLOUD_OCI_ALLOWED_INSECURE".into(),
                registry.address().to_string(),
            )],
            ..Default::default()
        })
        .start()
        .await
        .unwrap();
    let (url, name) = (lattice.nats_url(), lattice.name().to_string());
    let address = registry.address().to_string();
    let dir = tmp();
    let results = dir.path().join("results");
    let run = std::sync::Arc::new(move |extra: Vec<String>, run_id: &str| {
        let mut args: Vec<String> = [
            "run",
            "--target",
            "existing",
            "--nats-url",
            &url,
            "--lattice",
            &name,
            "--implementation",
            "acme",
            "--results",
            results.to_str().unwrap(),
            "--run-id",
            run_id,
            "--filter",
            "components::scale_invoke_and_stop",
            "--filter",
            "vendorless::echo_rust",
            "--filter",
            "vendorless::counter_rust",
            "--filter",
            "security::expired_or_early_claims_refused",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        args.extend(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cmd(&args, &[("WCC_TARGET_UNSUPPORTED", "file-load")])
    });
    let with = |extra: Vec<String>, run_id: &'static str| {
        let run = run.clone();
        tokio::task::spawn_blocking(move || run(extra, run_id))
    };
    let out = with(
        vec![
            "--registry".into(),
            address.clone(),
            "--registry-insecure".into(),
        ],
        "pulled",
    )
    .await
    .unwrap();
    let stderr = expect(&out, OK, &["PASSED"]);
    assert!(
        stderr.contains(&format!("{address}/wcc-fixtures/probe-rust:"))
            && stderr.contains(&format!("{address}/wcc-fixtures/kv-memory-rust:")),
        "{stderr}"
    );
    let statuses = |run_id: &str| -> Vec<(String, String, String)> {
        let latest = the_report(&dir.path().join("results"), "acme");
        let path = latest
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join(run_id)
            .join("report.json");
        let report: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        report["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["name"].as_str().unwrap().to_string(),
                    t["status"].as_str().unwrap().to_string(),
                    t["message"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let status = |all: &[(String, String, String)], name: &str| {
        all.iter()
            .find(|t| t.0 == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in the report"))
    };
    let pulled = statuses("pulled");
    for name in [
        "components::scale_invoke_and_stop",
        "vendorless::echo_rust",
        "vendorless::counter_rust",
    ] {
        let (_, s, m) = status(&pulled, name);
        assert_eq!(s, "passed", "{name}: {m}\n{stderr}");
    }
    let (_, s, m) = status(&pulled, "security::expired_or_early_claims_refused");
    assert!(
        s == "skipped" && m.contains("writes signed copies"),
        "{s}: {m}"
    );

    let out = with(Vec::new(), "files").await.unwrap();
    expect(&out, OK, &[]);
    let files = statuses("files");
    for name in ["components::scale_invoke_and_stop", "vendorless::echo_rust"] {
        let (_, s, m) = status(&files, name);
        assert!(
            s == "skipped" && m.contains("file-load"),
            "{name} without a registry: {s}: {m}"
        );
    }
    let out = with(vec!["--registry".into(), "http://x:5000".into()], "bad")
        .await
        .unwrap();
    expect(&out, USAGE, &["--registry", "without a scheme"]);
}

/// What runs on a lattice: components and providers per host, links, wadm applications.
async fn state_of(lattice: &harness::Lattice) -> Vec<String> {
    let mut seen = Vec::new();
    for id in lattice.host_ids() {
        let inv = lattice.ctl().get_host_inventory(&id).await.unwrap();
        let inv = inv.into_data().expect("an inventory");
        seen.extend(
            inv.components()
                .iter()
                .map(|c| format!("component {}", c.id())),
        );
        seen.extend(
            inv.providers()
                .iter()
                .map(|p| format!("provider {}", p.id())),
        );
    }
    let links = lattice.ctl().get_links().await.unwrap();
    seen.extend(
        links
            .into_data()
            .unwrap_or_default()
            .iter()
            .map(|l| format!("link {} -> {}", l.source_id(), l.target())),
    );
    let apps = lattice.wadm().list().await.unwrap();
    seen.extend(apps.into_iter().map(|a| format!("app {}", a.name)));
    seen
}

/// The suite starts a lattice itself (NATS, one host, wadm), then the runner connects to it as a
/// vendor's existing lattice: the eligible tests pass, the others are skipped with the reason,
/// the report verifies and records the target and the features, and the lattice is left as found.
#[tokio::test(flavor = "multi_thread")]
async fn existing_target_runs_eligible_tests_and_leaves_the_lattice_as_found() {
    let lattice = harness::Lattice::builder()
        .hosts(1)
        .wadm(true)
        .start()
        .await
        .unwrap();
    let found = state_of(&lattice).await;
    let host_ids = lattice.host_ids();
    let dir = tmp();
    let results = dir.path().join("results");
    let args: Vec<String> = [
        "run",
        "--target",
        "existing",
        "--nats-url",
        &lattice.nats_url(),
        "--lattice",
        lattice.name(),
        "--implementation",
        "acme",
        "--results",
        results.to_str().unwrap(),
        "--seed",
        "1",
        // Eligible: one host, wadm, control interface, links, config.
        "--filter",
        "components::scale_invoke_and_stop",
        "--filter",
        "links::put_get_delete_with_events",
        "--filter",
        "config::put_get_delete",
        "--filter",
        "orchestration::model_versions_and_delete",
        // Not eligible: two hosts; the builtin HTTP server; the suite's heartbeat; host labels.
        "--filter",
        "host::inventory_of_idle_host",
        "--filter",
        "host::ping_reports_identity",
        "--filter",
        "providers::start_stop_lifecycle",
        "--filter",
        "host::heartbeat_interval_and_payload",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cmd(&args, &[])
    })
    .await
    .unwrap();
    let stderr = expect(&out, OK, &["PASSED"]);
    eprintln!("the run took {:?}", started.elapsed());

    let report_path = the_report(&results, "acme");
    // Against the real catalogue (the default).
    expect(
        &cmd(&["verify", report_path.to_str().unwrap()], &[]),
        OK,
        &[],
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(report["backend"], "external", "{stderr}");
    assert_eq!(report["target"]["kind"], "existing");
    assert_eq!(report["target"]["lattice"], lattice.name());
    assert_eq!(report["target"]["hosts"], json!(host_ids));
    let status = |name: &str| -> (String, String) {
        let t = report["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} in the report"));
        (
            t["status"].as_str().unwrap().to_string(),
            t["message"].as_str().unwrap_or_default().to_string(),
        )
    };
    for name in [
        "components::scale_invoke_and_stop",
        "links::put_get_delete_with_events",
        "config::put_get_delete",
        "orchestration::model_versions_and_delete",
    ] {
        let (s, m) = status(name);
        assert_eq!(s, "passed", "{name}: {m}\n{stderr}");
    }
    for (name, why) in [
        ("host::ping_reports_identity", "2 hosts (the lattice has 1)"),
        (
            "providers::start_stop_lifecycle",
            "host feature `builtin-http-server`",
        ),
        ("host::heartbeat_interval_and_payload", "heartbeat interval"),
        ("host::inventory_of_idle_host", "labels zone=conformance-a"),
    ] {
        let (s, m) = status(name);
        assert_eq!(s, "skipped", "{name}: {m}");
        assert!(
            m.starts_with("needs a lattice the suite starts (target: existing lattice): ")
                && m.contains(why),
            "{name}: {m}"
        );
    }
    // Features: detected on the lattice; its host runs without the builtin HTTP server, which
    // the target (declaring nothing unsupported) claims: a mismatch, reported, not fatal.
    let features = report["features"].as_array().expect("a features section");
    let feature = |id: &str| {
        features
            .iter()
            .find(|f| f["feature"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(feature("control-interface")["detected"], true);
    assert_eq!(feature("wadm")["detected"], true);
    assert_eq!(feature("file-load")["detected"], true);
    assert_eq!(feature("lattice-events")["detected"], true);
    let http = feature("builtin-http-server");
    assert_eq!(
        (
            http["declared"].clone(),
            http["detected"].clone(),
            http["mismatch"].clone()
        ),
        (json!(true), json!(false), json!(true))
    );
    let summary = std::fs::read_to_string(report_path.with_file_name("summary.md")).unwrap();
    assert!(
        summary.contains("feature mismatch") && summary.contains("`builtin-http-server`"),
        "{summary}"
    );

    // Left as found: nothing of the run remains, the host still answers.
    assert_eq!(state_of(&lattice).await, found);
    let hosts = lattice.ctl().get_hosts().await.unwrap();
    assert_eq!(
        hosts.iter().map(|h| h.id().to_string()).collect::<Vec<_>>(),
        host_ids
    );
}

// ---- reap: cleaning up after a killed run -------------------------------------------------------

/// Set in the environment of this test binary run as the child of a reap test (see
/// [`reap_child`]): `processes`, or `containers` to also start a labelled container.
const REAP_CHILD_ENV: &str = "WCC_TEST_REAP_CHILD";

/// The images `ci/images/build` made from the reference binaries (the harness builds them when a
/// fresh clone has none yet).
fn reference_images() -> harness::containers::Images {
    let binaries = harness::binaries::Binaries::from_env().expect("the reference binaries");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(harness::containers::images_of(&binaries))
        .expect("the lattice images")
}

/// Not a test of its own: the child of the reap tests (this binary run again with
/// [`REAP_CHILD_ENV`]). It records a process group the way the harness records a host's, whose
/// leader dies with this process while a grandchild (like a provider) lives on, optionally starts
/// a labelled container (the NATS image, which runs until stopped), prints one JSON line and
/// waits to be killed. Without the variable it returns at once.
#[test]
fn reap_child() {
    let Ok(mode) = std::env::var(REAP_CHILD_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut cmd = tokio::process::Command::new("/bin/sh");
        cmd.args(["-c", "sleep 300 & echo $!; wait"])
            .stdout(std::process::Stdio::piped());
        harness::reaper::tie_to_this_process(&mut cmd);
        let mut leader = cmd.spawn().unwrap();
        harness::reaper::register(leader.id().unwrap());
        let mut line = String::new();
        tokio::io::AsyncBufReadExt::read_line(
            &mut tokio::io::BufReader::new(leader.stdout.take().unwrap()),
            &mut line,
        )
        .await
        .unwrap();
        let grandchild: u32 = line.trim().parse().unwrap();
        let container = if mode == "containers" {
            let binaries = harness::binaries::Binaries::from_env().expect("the reference binaries");
            let image = harness::containers::images_of(&binaries)
                .await
                .expect("the lattice images")
                .nats_server;
            let name = format!("oneshot-{}-0", std::process::id());
            tokio::spawn(async move {
                let _ = harness::containers::run_to_completion(
                    &image,
                    &[],
                    std::time::Duration::from_secs(300),
                )
                .await;
            });
            // Until the engine lists it as running.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            loop {
                let ps = Command::new("docker")
                    .args(["ps", "-q", "--filter", &format!("name=^{name}$")])
                    .output()
                    .unwrap();
                if !ps.stdout.is_empty() {
                    break;
                }
                assert!(std::time::Instant::now() < deadline, "{name} never ran");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Some(name)
        } else {
            None
        };
        println!(
            "{}",
            json!({
                "grandchild": grandchild,
                "watchdog": harness::reaper::watchdog_pid(),
                "container": container,
            })
        );
        tokio::time::sleep(std::time::Duration::from_secs(300)).await;
    });
}

/// True once `pid` is gone or a zombie (waiting for init to reap it).
fn process_gone(pid: u32) -> bool {
    harness::procfs::gone(pid as i32)
}

/// Starts the reap child in `tmp` (its records go under `tmp`, out of other runs' way), kills it
/// the way a run is killed from outside (its reaper watchdog too, as `kill -9` of every process
/// of the run would), and returns what it printed.
fn killed_reap_child(mode: &str, tmp: &Path) -> Value {
    use std::io::BufRead as _;
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "reap_child", "--nocapture", "--test-threads=1"])
        .env(REAP_CHILD_ENV, mode)
        .env("TMPDIR", tmp)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    // libtest prints `test reap_child ... ` before it on the same line.
    let line = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.find('{').map(|i| l[i..].to_string()))
        .expect("the reap child prints its JSON line");
    let info: Value = serde_json::from_str(&line).unwrap();
    let watchdog = info["watchdog"].as_u64().expect("a watchdog runs");
    let kill = Command::new("kill")
        .args(["-9", &watchdog.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    child.kill().unwrap();
    child.wait().unwrap();
    info
}

fn reap(tmp: &Path, env: &[(&str, &str)]) -> Output {
    let mut env = env.to_vec();
    let tmp = tmp.to_str().unwrap();
    env.push(("TMPDIR", tmp));
    cmd(&["reap"], &env)
}

/// A SIGKILLed run whose watchdog died too leaves a grandchild (a provider); `reap` kills it and
/// says so, and says it did not check a Docker engine when none answers.
#[test]
fn reap_kills_the_processes_a_killed_run_left() {
    let dir = tmp();
    let info = killed_reap_child("processes", dir.path());
    let grandchild = info["grandchild"].as_u64().unwrap() as u32;
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !process_gone(grandchild),
        "the grandchild outlives the killed run (else this test proves nothing)"
    );
    let socket = dir.path().join("no-engine.sock");
    let out = reap(
        dir.path(),
        &[("DOCKER_HOST", &format!("unix://{}", socket.display()))],
    );
    let text = expect(
        &out,
        OK,
        &[
            "killed 1 process(es)",
            &format!("sleep (pid {grandchild})"),
            "Docker engine not checked",
            "no Docker engine answers",
        ],
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !process_gone(grandchild) {
        if std::time::Instant::now() > deadline {
            let _ = Command::new("kill")
                .args(["-9", &grandchild.to_string()])
                .status();
            panic!("reap left {grandchild} running:\n{text}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Nothing left to reap.
    expect(&reap(dir.path(), &[]), OK, &["killed 0 process(es)"]);
}

/// A SIGKILLed run leaves its labelled container running; `reap` removes it and names it. Needs a
/// Docker engine and the lattice images (`bash ci/setup`): fails, with the reason, without one.
#[test]
fn reap_removes_the_containers_a_killed_run_left() {
    if let Some(why) = harness::containers::unavailable() {
        panic!("this test needs a Docker engine: {why}");
    }
    // Built here, not in the child, so that its first line comes soon on a fresh clone too.
    reference_images();
    let dir = tmp();
    let info = killed_reap_child("containers", dir.path());
    let name = info["container"].as_str().unwrap().to_string();
    let grandchild = info["grandchild"].as_u64().unwrap() as u32;
    let running = |name: &str| {
        let ps = Command::new("docker")
            .args(["ps", "-aq", "--filter", &format!("name=^{name}$")])
            .output()
            .unwrap();
        !ps.stdout.is_empty()
    };
    assert!(running(&name), "{name} outlives the killed run");
    let out = reap(dir.path(), &[]);
    let text = expect(
        &out,
        OK,
        &[&format!("sleep (pid {grandchild})"), "container(s)", &name],
    );
    assert!(!running(&name), "reap left {name}:\n{text}");
}
