"""Runs every built fixture once, outside any wasmCloud host, to check that it behaves as its world
promises. Reads the fixture manifest (.wcc/fixtures.json).

- probe and runner: instantiated with the wasmtime Python API; wasi:config, wasi:logging,
  wasi:keyvalue and test:fixtures/echo are small in-process fakes.
- http: served by `wasmtime serve` on 127.0.0.1 (a free port), then GET and POST (3 MB) requests.

Usage: python check_fixtures.py MANIFEST [--lang L,..] [--only NAME,..] [--wasmtime PATH]
Prints one line per check and "N passed, N failed" at the end; exits 1 on any failure.
"""

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request

from wasmtime import Engine, Store, WasiConfig
from wasmtime.component import Component, Linker, Record, ResourceHost, ResourceType, Variant

ENGINE = Engine()
BUCKET = ResourceType.host(7)
passed = failed = 0


def check(label, what, got, want):
    global passed, failed
    ok = got == want
    if ok:
        passed += 1
    else:
        failed += 1
    shown = got if not isinstance(got, (str, bytes)) or len(got) < 80 else f"<{len(got)} long>"
    print(f"  {'ok  ' if ok else 'FAIL'} {label} {what}: {shown!r}" + ("" if ok else f" (want {want!r})"))


def new_store():
    store = Store(ENGINE)
    store.set_wasi(WasiConfig())
    return store


def call(store, instance, interface, name, *args):
    iface = instance.get_export_index(store, interface)
    func = instance.get_func(store, instance.get_export_index(store, name, iface))
    result = func(store, *args)
    func.post_return(store)
    return result


def probe_linker(logs, kv, open_fails):
    linker = Linker(ENGINE)
    linker.add_wasip2()
    root = linker.root()
    with root.add_instance("wasi:config/store@0.2.0-draft") as config:
        config.add_func("get", lambda store, key: {"greeting": "hello"}.get(key))
        config.add_func("get-all", lambda store: [("greeting", "hello")])
    with root.add_instance("wasi:logging/logging@0.1.0-draft") as logging:
        logging.add_func("log", lambda store, level, context, msg: logs.append((str(level), context, msg)))
    with root.add_instance("wasi:keyvalue/store@0.2.0-draft") as kvstore:
        kvstore.add_resource("bucket", BUCKET, lambda store, rep: None)

        def open_bucket(store, name):
            kv.setdefault("opened", []).append(name)
            return Variant("other", "no buckets here") if open_fails else ResourceHost.own(1, 7)

        def unused(*_):
            raise RuntimeError("not used by the probe")

        kvstore.add_func("open", open_bucket)
        for method in ("get", "set", "delete", "exists", "list-keys"):
            kvstore.add_func(f"[method]bucket.{method}", unused)
    with root.add_instance("wasi:keyvalue/atomics@0.2.0-draft") as atomics:

        def increment(store, bucket, key, delta):
            bucket.drop(store)
            kv[key] = kv.get(key, 0) + delta
            return kv[key]

        atomics.add_func("increment", increment)
    return linker


def check_probe(label, language, component):
    logs, kv = [], {}
    store = new_store()
    inst = probe_linker(logs, kv, False).instantiate(store, component)
    echo = lambda msg: call(store, inst, "test:fixtures/echo@0.1.0", "echo", msg)
    check(label, "echo", echo("héllo wörld"), "héllo wörld")
    check(label, "echo empty", echo(""), "")
    check(label, "echo 1 MB", echo("x" * 1_000_000), "x" * 1_000_000)
    check(label, "language", call(store, inst, "test:fixtures/about@0.1.0", "language"), language)
    get = lambda key: call(store, inst, "test:fixtures/config-reader@0.1.0", "get", key)
    check(label, "config get", get("greeting"), "hello")
    check(label, "config get unset", get("nope"), None)
    call(store, inst, "test:fixtures/logger@0.1.0", "log", "warn", "careful")
    call(store, inst, "test:fixtures/logger@0.1.0", "log", "shout", "x")
    check(label, "log", logs, [("warn", "fixture", "careful"), ("info", "fixture", "x")])
    incr = lambda key: call(store, inst, "test:fixtures/counter@0.1.0", "increment", key)
    check(label, "increment", [incr("c"), incr("c"), incr("d")], [1, 2, 1])
    for _ in range(200):
        incr("c")
        echo("y" * 5000)
    check(label, "increment after 200 calls", incr("c"), 203)
    check(label, "bucket opened", sorted(set(kv["opened"])), [""])
    check_values(label, language, component)

    kv = {}
    store = new_store()
    inst = probe_linker([], kv, True).instantiate(store, component)
    got = call(store, inst, "test:fixtures/counter@0.1.0", "increment", "c")
    check(label, "increment error", got, "open: no buckets here")
    check(label, "buckets tried", kv["opened"], ["", "default"])


def same(a, b):
    """Equality that tells NaN from NaN-free values and -0.0 from 0.0, through records and lists."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, Record) and isinstance(b, Record):
        return vars(a).keys() == vars(b).keys() and all(same(v, getattr(b, k)) for k, v in vars(a).items())
    if isinstance(a, Variant) and isinstance(b, Variant):
        return a.tag == b.tag and same(a.payload, b.payload)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def record(**fields):
    r = Record()
    for k, v in fields.items():
        setattr(r, k, v)
    return r


def without_bom(v):
    """v with one leading U+FEFF removed from every string in it."""
    if isinstance(v, str):
        return v[1:] if v.startswith("\ufeff") else v
    if isinstance(v, Record):
        return record(**{k: without_bom(x) for k, x in vars(v).items()})
    if isinstance(v, list):
        return [without_bom(x) for x in v]
    return v


# Known divergences of a guest toolchain (not of wasmCloud), as the conformance test
# vendorless::values_round_trip_in_every_language records them: what it makes of a value sent to
# `func`, or "trap". A value that comes back unchanged instead is a failure: remove the entry.
KNOWN = {
    "javascript": lambda func, v: "trap" if func == "echo-s64" and v < 0 else without_bom(v),
}


def check_values(label, language, component):
    """Each kind of test:fixtures/values comes back unchanged, edge values included, or exactly as
    a known divergence of the language's toolchain makes it (printed as such). Every value gets a
    fresh instance: a trap leaves an instance unusable, and would hide the next value."""
    global passed, failed
    known = KNOWN.get(language, lambda func, v: v)
    iface = "test:fixtures/values@0.1.0"
    nan, inf = float("nan"), float("inf")
    entry = lambda k, v: record(key=k, value=v)
    sample = lambda **kw: record(**{**dict(
        bytes=b"\x00\xff", text="t\x00ü😀", natural=2**64 - 1, whole=-(2**63), real=-0.0,
        maybe=None, outcome=7, shape=None,
        entries=[entry("a", None), entry("", nan), entry("\x00", -inf)]), **kw})
    cases = {
        "echo-bytes": [b"", b"\x00", bytes(range(256)), b"\xff" * 70_000],
        "echo-string": ["", "\x00", "a\x00b", "\U0010ffff", "e\u0301", "\ufeff😀🦀", "x" * 70_000],
        "echo-u64": [0, 1, 2**63, 2**64 - 1],
        "echo-s64": [0, -1, 2**63 - 1, -(2**63)],
        "echo-f64": [0.0, -0.0, 5e-324, -1.7976931348623157e308, inf, -inf, nan],
        "echo-option": [None, "", "some \x00"],
        "echo-result": [0, 2**64 - 1, "", "err \x00 😀"],
        # wasmtime-py passes a variant whose cases' Python types differ untagged: the payload alone.
        "echo-shape": [None, -(2**63), "", "\x00", b"", b"\x00\x01"],
        "echo-sample": [sample(), sample(maybe="m", outcome="bad", shape=b"\xff", entries=[]),
                        sample(bytes=b"", text="", natural=0, whole=0, real=nan, shape=5)],
    }
    for func, values in cases.items():
        bad, seen = [], []
        for v in values:
            store = new_store()
            inst = probe_linker([], {}, False).instantiate(store, component)
            try:
                got = call(store, inst, iface, func, v)
            except Exception as e:  # a trap or a lowering error is a failure of this value
                got = f"raised {type(e).__name__}: {e}"
            want = known(func, v)
            if want == "trap" and isinstance(got, str) and got.startswith("raised"):
                seen.append((v, "trap"))
                continue
            if not same(want, v) and same(got, want):
                seen.append((v, got))
                continue
            if not same(got, v) or want == "trap" or not same(want, v):
                bad.append((v if not isinstance(v, (str, bytes)) or len(v) < 40 else f"<{len(v)} long>", got if not isinstance(got, (str, bytes)) or len(got) < 80 else f"<{len(got)} long>"))
        if bad:
            failed += 1
        else:
            passed += 1
        print(f"  {'ok  ' if not bad else 'FAIL'} {label} values {func}: {len(values)} values" + ("" if not bad else f" (sent, got back: {bad!r})"))
        if seen:
            print(f"  known {label} values {func}: {len(seen)} as the toolchain is known to change them: {seen!r}"[:400])


def check_runner(label, language, component):
    store = new_store()
    linker = Linker(ENGINE)
    linker.add_wasip2()
    with linker.root().add_instance("test:fixtures/echo@0.1.0") as echo:
        echo.add_func("echo", lambda store, msg: f"<{msg}>")
    inst = linker.instantiate(store, component)
    run = lambda msg: call(store, inst, "test:fixtures/runner@0.1.0", "run", msg)
    check(label, "run", run("hi ü"), "<hi ü>")
    check(label, "language", call(store, inst, "test:fixtures/about@0.1.0", "language"), language)
    for _ in range(200):
        run("z" * 3000)
    check(label, "run after 200 calls", run("again"), "<again>")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url, data=None, timeout=60):
    with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=timeout) as resp:
        return resp.status, resp.read()


def check_http(label, language, path, wasmtime):
    port = free_port()
    proc = subprocess.Popen(
        [wasmtime, "serve", "-S", "cli", "--addr", f"127.0.0.1:{port}", path],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    check(label, "serve", proc.stderr.read().decode()[-500:] if proc.poll() is not None else "timeout", "listening")
                    return
                time.sleep(0.2)
        base = f"http://127.0.0.1:{port}"
        check(label, "GET /", request(base + "/"), (200, f"hello from {language}".encode()))
        check(label, "GET /any/path?q=1", request(base + "/any/path?q=1"), (200, f"hello from {language}".encode()))
        body = os.urandom(3 * 1024 * 1024 + 17)
        status, echoed = request(base + "/echo", data=body)
        check(label, "POST 3 MB echo", (status, len(echoed), echoed == body), (200, len(body), True))
        check(label, "POST empty", request(base + "/", data=b""), (200, b""))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("manifest")
    ap.add_argument("--lang", default="")
    ap.add_argument("--only", default="")
    ap.add_argument("--wasmtime", default=os.path.join(os.path.dirname(sys.executable), "wasmtime"))
    args = ap.parse_args()
    langs = set(filter(None, args.lang.split(",")))
    names = set(filter(None, args.only.split(",")))
    fixtures = json.load(open(args.manifest))["fixtures"]
    for f in fixtures:
        if (langs and f["language"] not in langs) or (names and f["name"] not in names):
            continue
        label = f"{f['name']}/{f['language']}"
        if f["status"] != "built":
            print(f"  skip {label}: {f.get('reason', f['status'])}")
            continue
        if f.get("kind", "component") != "component":
            print(f"  skip {label}: a {f['kind']}, not runnable under wasmtime (checked on a host)")
            continue
        if f["name"] not in ("probe", "runner", "http"):
            # The one-language fixtures with WIT of their own import host interfaces (messaging,
            # blobstore, secrets, ...) that have no fake here.
            print(f"  skip {label}: no check under wasmtime for this fixture (checked on a host)")
            continue
        started = time.time()
        try:
            if f["name"] == "http":
                check_http(label, f["language"], f["path"], args.wasmtime)
            else:
                component = Component.from_file(ENGINE, f["path"])
                (check_probe if f["name"] == "probe" else check_runner)(label, f["language"], component)
        except Exception as e:  # a trap or a broken fixture: report it and go on
            check(label, "runs", f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", "no error")
        print(f"{label}: checked in {time.time() - started:.1f}s")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
