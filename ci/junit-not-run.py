#!/usr/bin/env python3
"""Adds the tests a nextest run left out on purpose to its JUnit file, as skipped with the reason.

nextest counts tests its profile's default-filter leaves out as skipped in its summary, but its
JUnit lists only the tests it ran. A skip is never a pass, and never silent: ci/test runs this after
a run under the `no-docker` profile so that the JUnit shows every test the profile left out as
    <testcase name="..." classname="<binary id>"><skipped message="<reason>"/></testcase>

Usage: junit-not-run.py JUNIT_XML LIST_JSON REASON
  LIST_JSON: `cargo nextest list --message-format json` of the same profile and filters; the tests
  whose filter-match is a mismatch for the reason `default-filter` are the ones added (a test the
  user's own filters left out is not). JUNIT_XML is created when the run wrote none.
Tests: python3 -m unittest discover -s ci -p 'test_*.py'
"""
import json
import sys
import xml.etree.ElementTree as ET


def left_out(listing):
    """(binary id, test name) of every test the profile's default-filter left out."""
    out = []
    for binary_id, suite in sorted(listing.get("rust-suites", {}).items()):
        for name, case in sorted(suite.get("testcases", {}).items()):
            match = case.get("filter-match", {})
            if match.get("status") == "mismatch" and match.get("reason") == "default-filter":
                out.append((binary_id, name))
    return out


def _bump(elem, key, by=1):
    elem.set(key, str(int(elem.get(key, "0")) + by))


def add_skipped(root, tests, reason):
    """Adds each (binary id, name) to `root` (<testsuites>) as a skipped testcase; a test already
    present is left alone. Returns how many were added."""
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    added = 0
    for binary_id, name in tests:
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
    if len(argv) != 4:
        sys.exit("usage: junit-not-run.py JUNIT_XML LIST_JSON REASON")
    junit, listing, reason = argv[1], argv[2], argv[3]
    with open(listing, encoding="utf-8") as f:
        tests = left_out(json.load(f))
    try:
        tree = ET.parse(junit)
    except FileNotFoundError:
        tree = ET.ElementTree(ET.Element(
            "testsuites",
            {"name": "nextest-run", "tests": "0", "skipped": "0", "failures": "0", "errors": "0"},
        ))
    added = add_skipped(tree.getroot(), tests, reason)
    ET.indent(tree, space="    ")
    tree.write(junit, encoding="UTF-8", xml_declaration=True)
    for binary_id, name in tests:
        print(f"NOT RUN {binary_id} {name}: {reason}")
    print(f"{added} test(s) added to {junit} as skipped")


if __name__ == "__main__":
    main(sys.argv)
