#!/usr/bin/env python3
"""Adds the tests a nextest run did not run to its JUnit file, as skipped with the reason.

nextest counts the tests it does not run (left out by the profile's default-filter, or ignored:
the conformance adapter marks a test ignored when it will not run here) as skipped in its summary,
but its JUnit lists only the tests it ran. A skip is never a pass, and never silent: ci/test runs
this after each run that writes JUnit, so that it shows every such test as
    <testcase name="..." classname="<binary id>"><skipped message="<reason>"/></testcase>

Usage: junit-not-run.py JUNIT_XML LIST_JSON REASON [SKIP_REASONS]
  LIST_JSON: `cargo nextest list --message-format json` of the same profile and filters. Added:
  the tests whose filter-match is a mismatch for the reason `default-filter` (with REASON) or
  `ignored` (with the reason from SKIP_REASONS, the `name<TAB>reason` lines the conformance adapter
  writes when WCC_SKIP_REASONS names a file during the listing; else "ignored"). A test the user's
  own filters left out is not added. JUNIT_XML is created when the run wrote none.
Tests: python3 -m unittest discover -s ci -p 'test_*.py'
"""
import json
import sys
import xml.etree.ElementTree as ET


IGNORED = "ignored (marked #[ignore], or the test binary decided it will not run here)"


def left_out(listing, default_filter_reason, ignored_reasons=None):
    """(binary id, test name, reason) of every test the run left out: by the profile's
    default-filter, or ignored."""
    ignored_reasons = ignored_reasons or {}
    out = []
    for binary_id, suite in sorted(listing.get("rust-suites", {}).items()):
        for name, case in sorted(suite.get("testcases", {}).items()):
            match = case.get("filter-match", {})
            if match.get("status") != "mismatch":
                continue
            if match.get("reason") == "default-filter":
                out.append((binary_id, name, default_filter_reason))
            elif match.get("reason") == "ignored":
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
    if len(argv) not in (4, 5):
        sys.exit("usage: junit-not-run.py JUNIT_XML LIST_JSON REASON [SKIP_REASONS]")
    junit, listing, reason = argv[1], argv[2], argv[3]
    ignored_reasons = read_reasons(argv[4]) if len(argv) == 5 else {}
    with open(listing, encoding="utf-8") as f:
        tests = left_out(json.load(f), reason, ignored_reasons)
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
