"""Tests of ci/junit-not-run.py (python3 -m unittest discover -s ci -p 'test_*.py'; ci/test runs
them before it uses the script)."""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "junit-not-run.py")
spec = importlib.util.spec_from_file_location("junit_not_run", SCRIPT)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)

# What `cargo nextest list --message-format json` prints, cut down (nextest 0.9.143).
LISTING = {
    "rust-suites": {
        "harness::containers": {"testcases": {
            "wadm_reschedules_after_a_host_is_killed":
                {"filter-match": {"status": "mismatch", "reason": "default-filter"}},
            "partitions_and_restarts_need_the_containers_backend":
                {"filter-match": {"status": "matches"}},
        }},
        "conformance-suite::cli": {"testcases": {
            "a_vendor_image_run_records_the_image":
                {"filter-match": {"status": "mismatch", "reason": "default-filter"}},
            "verify_fails_on_a_tampered_report":
                {"filter-match": {"status": "mismatch", "reason": "expression"}},
            "ignored_one": {"filter-match": {"status": "mismatch", "reason": "ignored"}},
            "ignored_two": {"filter-match": {"status": "mismatch", "reason": "ignored"}},
        }},
    }
}

JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="nextest-run" tests="1" skipped="0" failures="1" errors="0">
    <testsuite name="harness::containers" tests="1" skipped="0" errors="0" failures="1">
        <testcase name="partitions_and_restarts_need_the_containers_backend" classname="harness::containers">
            <failure message="boom"/>
        </testcase>
    </testsuite>
</testsuites>
"""


class JunitNotRun(unittest.TestCase):
    def test_tests_left_out_by_the_default_filter_or_ignored_are_picked(self):
        self.assertEqual(mod.left_out(LISTING, "no engine", {"ignored_one": "fixture missing"}), [
            ("conformance-suite::cli", "a_vendor_image_run_records_the_image", "no engine"),
            ("conformance-suite::cli", "ignored_one", "not run: fixture missing"),
            ("conformance-suite::cli", "ignored_two", "not run: " + mod.IGNORED),
            ("harness::containers", "wadm_reschedules_after_a_host_is_killed", "no engine"),
        ])

    def test_with_an_ignored_listing_only_ignored_tests_the_filters_select_are_picked(self):
        ignored_listing = {"rust-suites": {"conformance-suite::cli": {"testcases": {
            "ignored_one": {"filter-match": {"status": "matches"}},
            "ignored_two": {"filter-match": {"status": "mismatch", "reason": "expression"}},
        }}}}
        picked = [n for _, n, _ in mod.left_out(LISTING, "no engine", {}, ignored_listing)]
        self.assertEqual(picked, ["a_vendor_image_run_records_the_image", "ignored_one",
                                  "wadm_reschedules_after_a_host_is_killed"])

    def test_skip_reasons_are_read_from_tab_separated_lines(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "reasons")
            with open(path, "w") as f:
                f.write("a::b\tfixture missing: go\nbroken line\na::b\tfixture missing: go\n")
            self.assertEqual(mod.read_reasons(path), {"a::b": "fixture missing: go"})
            self.assertEqual(mod.read_reasons(os.path.join(d, "none")), {})

    def run_script(self, junit_text):
        with tempfile.TemporaryDirectory() as d:
            junit, listing = os.path.join(d, "junit.xml"), os.path.join(d, "list.json")
            reasons = os.path.join(d, "reasons")
            with open(reasons, "w") as f:
                f.write("ignored_one\tthe fixture probe (rust) is missing\n")
            if junit_text is not None:
                with open(junit, "w") as f:
                    f.write(junit_text)
            with open(listing, "w") as f:
                json.dump(LISTING, f)
            out = subprocess.run(
                [sys.executable, SCRIPT, "--junit", junit, "--listing", listing,
                 "--reason", 'no Docker engine answers & "why"', "--skip-reasons", reasons],
                check=True, capture_output=True, text=True,
            ).stdout
            return ET.parse(junit).getroot(), out

    def test_left_out_tests_become_skipped_testcases_with_the_reason(self):
        root, out = self.run_script(JUNIT)
        self.assertIn("NOT RUN harness::containers wadm_reschedules_after_a_host_is_killed", out)
        self.assertIn("4 test(s) not run added", out)
        self.assertEqual((root.get("tests"), root.get("skipped"), root.get("failures")), ("5", "4", "1"))
        suites = {s.get("name"): s for s in root.findall("testsuite")}
        self.assertEqual((suites["harness::containers"].get("tests"),
                          suites["harness::containers"].get("skipped")), ("2", "1"))
        cli = suites["conformance-suite::cli"]
        cases = {c.get("name"): c for c in cli.findall("testcase")}
        self.assertEqual(sorted(cases), ["a_vendor_image_run_records_the_image", "ignored_one", "ignored_two"])
        case = cases["a_vendor_image_run_records_the_image"]
        self.assertEqual(case.get("classname"), "conformance-suite::cli")
        self.assertEqual(case.find("skipped").get("message"), 'no Docker engine answers & "why"')
        self.assertEqual(cases["ignored_one"].find("skipped").get("message"),
                         "not run: the fixture probe (rust) is missing")
        # The failure that was there stays a failure.
        failed = suites["harness::containers"].find("testcase[@name='partitions_and_restarts_need_the_containers_backend']")
        self.assertIsNotNone(failed.find("failure"))
        self.assertIsNone(failed.find("skipped"))

    def test_a_missing_junit_is_created(self):
        root, _ = self.run_script(None)
        self.assertEqual((root.tag, root.get("tests"), root.get("skipped")), ("testsuites", "4", "4"))

    def test_a_test_already_in_the_junit_is_not_added_twice(self):
        root = ET.fromstring(JUNIT)
        tests = [("harness::containers", "partitions_and_restarts_need_the_containers_backend", "x")]
        self.assertEqual(mod.add_skipped(root, tests), 0)
        self.assertEqual(root.get("skipped"), "0")


if __name__ == "__main__":
    unittest.main()
