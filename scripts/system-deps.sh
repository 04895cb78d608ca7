#!/usr/bin/env bash
# Install the Debian packages the tests need, only those missing, with at most one
# `apt-get update`: Chromium (browser tests), PostgreSQL (the PostgreSQL board store), a C
# compiler (plebiscite's native ristretto255 library for verifiers), faketime (a witness
# on a clock other than the board's, tests/test_witness_live.py).
# Called by `make setup` and by .ci/run; a no-op when everything is there.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
command -v belenios-tool >/dev/null 2>&1 || missing+=(belenios-tool)
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)  # the native verifier library
command -v faketime >/dev/null 2>&1 || missing+=(faketime)  # witnesses on another clock

[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "system-deps: missing ${missing[*]} and not root (install them, or run as root)" >&2
    exit 1
  fi
fi
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
  $SUDO apt-get update >/dev/null
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
