#!/usr/bin/env python3
"""Adds the tests a nextest run did not run to its JUnit file, as skipped with the reason.

nextest counts the tests it does not run (left out by the profile's default-filter, or ignored:
the conformance adapter marks a test ignored when it will not run here) as skipped in its summary,
but its JUnit lists only the tests it ran. A skip is never a pass, and never silent: ci/test runs
this after each run that writes JUnit, so that it shows every such test as
    <testcase name="..." classname="<binary id>"><skipped message="<reason>"/></testcase>

Usage: junit-not-run.py --junit JUNIT_XML --listing LIST_JSON --reason REASON
                        [--skip-reasons FILE] [--ignored-listing LIST_JSON]
  --listing: `cargo nextest list --message-format json` of the same profile and filters; the tests
  whose filter-match is a mismatch for the reason `default-filter` are added with REASON, those
  for `ignored` with their reason from --skip-reasons (the `name<TAB>reason` lines the conformance
  adapter writes when WCC_SKIP_REASONS names a file during the listing; else "ignored").
  --ignored-listing: the same listing with `--run-ignored only`; when given, an ignored test is
  added only if the run's filters select it there (nextest reports `ignored` before it looks at
  the filters). A test the user's own filters left out is not added.
  JUNIT_XML is created when the run wrote none.
Tests: python3 -m unittest discover -s ci -p 'test_*.py'
"""
import argparse
import json
import sys
import xml.etree.ElementTree as ET


IGNORED = "ignored (marked #[ignore], or the test binary decided it will not run here)"


def left_out(listing, default_filter_reason, ignored_reasons=None, ignored_listing=None):
    """(binary id, test name, reason) of every test the run left out: by the profile's
    default-filter, or ignored (and, with `ignored_listing`, selected by the run's filters)."""
    ignored_reasons = ignored_reasons or {}
    selected = None
    if ignored_listing is not None:
        selected = {
            (binary_id, name)
            for binary_id, suite in ignored_listing.get("rust-suites", {}).items()
            for name, case in suite.get("testcases", {}).items()
            if case.get("filter-match", {}).get("status") == "matches"
        }
    out = []
    for binary_id, suite in sorted(listing.get("rust-suites", {}).items()):
        for name, case in sorted(suite.get("testcases", {}).items()):
            match = case.get("filter-match", {})
            if match.get("status") != "mismatch":
                continue
            if match.get("reason") == "default-filter":
                out.append((binary_id, name, default_filter_reason))
            elif match.get("reason") == "ignored" and (
                selected is None or (binary_id, name) in selected
            ):
                out.append((binary_id, name, "not run: " + ignored_reasons.get(name, IGNORED)))
    return out


def read_reasons(path):
    """The `name<TAB>reason` lines of a WCC_SKIP_REASONS file (a missing file has none)."""
    reasons = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                name, sep, reason = line.rstrip("\n").partition("\t")
                if sep:
                    reasons[name] = reason
    except FileNotFoundError:
        pass
    return reasons


def _bump(elem, key, by=1):
    elem.set(key, str(int(elem.get(key, "0")) + by))


def add_skipped(root, tests):
    """Adds each (binary id, name, reason) to `root` (<testsuites>) as a skipped testcase; a test
    already present is left alone. Returns how many were added."""
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    added = 0
    for binary_id, name, reason in tests:
        suite = suites.get(binary_id)
        if suite is None:
            suite = ET.SubElement(
                root, "testsuite",
                {"name": binary_id, "tests": "0", "skipped": "0", "errors": "0", "failures": "0"},
            )
            suites[binary_id] = suite
        if any(c.get("name") == name for c in suite.findall("testcase")):
            continue
        case = ET.SubElement(suite, "testcase", {"name": name, "classname": binary_id})
        ET.SubElement(case, "skipped", {"message": reason})
        for elem in (suite, root):
            _bump(elem, "tests")
            _bump(elem, "skipped")
        added += 1
    return added


def main(argv):
    parser = argparse.ArgumentParser(description="Adds the tests a nextest run did not run to its JUnit.")
    parser.add_argument("--junit", required=True)
    parser.add_argument("--listing", required=True)
    parser.add_argument("--reason", required=True)
    parser.add_argument("--skip-reasons")
    parser.add_argument("--ignored-listing")
    args = parser.parse_args(argv[1:])
    junit, reason = args.junit, args.reason
    ignored_reasons = read_reasons(args.skip_reasons) if args.skip_reasons else {}
    with open(args.listing, encoding="utf-8") as f:
        listing = json.load(f)
    ignored_listing = None
    if args.ignored_listing:
        with open(args.ignored_listing, encoding="utf-8") as f:
            ignored_listing = json.load(f)
    tests = left_out(listing, reason, ignored_reasons, ignored_listing)
    try:
        tree = ET.parse(junit)
    except FileNotFoundError:
        tree = ET.ElementTree(ET.Element(
            "testsuites",
            {"name": "nextest-run", "tests": "0", "skipped": "0", "failures": "0", "errors": "0"},
        ))
    added = add_skipped(tree.getroot(), tests)
    ET.indent(tree, space="    ")
    tree.write(junit, encoding="UTF-8", xml_declaration=True)
    ignored = 0
    for binary_id, name, why in tests:
        if why == reason:
            print(f"NOT RUN {binary_id} {name}: {why}")
        else:
            ignored += 1
    print(f"{added} test(s) not run added to {junit} as skipped, with the reason "
          f"({ignored} ignored, the others listed above)")


if __name__ == "__main__":
    main(sys.argv)
