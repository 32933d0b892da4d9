#!/usr/bin/env bash
# Runs the Python interop suite (MSAL Python, azure-identity) against a real `keyward serve`.
#
# Builds nothing: the tests start the binary from KEYWARD_BIN (default: target/debug/keyward at
# the repo root; `cargo build -p keyward` first). Extra arguments go to pytest, e.g.
#   interop/python/run.sh -k pfx -x
set -euo pipefail

# A relative KEYWARD_BIN means relative to where this script was called from.
if [ -n "${KEYWARD_BIN:-}" ] && [ "${KEYWARD_BIN#/}" = "$KEYWARD_BIN" ]; then
    KEYWARD_BIN="$PWD/$KEYWARD_BIN"
    export KEYWARD_BIN
fi

cd "$(dirname "${BASH_SOURCE[0]}")"

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt

exec .venv/bin/python -m pytest -q "$@"
