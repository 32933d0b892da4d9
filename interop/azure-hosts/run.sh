#!/usr/bin/env bash
# Code written for Entra ID and Key Vault, unchanged, against `keyward serve --azure-hosts`.
#
# Everything runs inside a network namespace of its own (`ip netns`), so that the test has its
# own port 443 and its own hosts file (/etc/netns/NAME/hosts, which `ip netns exec` binds over
# /etc/hosts) and the machine's are never touched. In it: the server on 127.0.0.1:443 with the
# Azure host names mode, the hosts file written by `keyward hosts`, then the Node suite
# (interop/node/azure-hosts: MSAL Node 3 and 7, azure-identity, the Key Vault SDKs, the
# article's code as published) and the Python suite (interop/azure-hosts/python: MSAL Python,
# azure-identity, the Key Vault SDKs), each given only the Azure-hosts CA (NODE_EXTRA_CA_CERTS,
# REQUESTS_CA_BUNDLE) and the environment variables the code itself reads.
#
# Needs root (ip netns), interop/node's node_modules and interop/python's .venv (the Node and
# Python suites' runs install them; `cargo xtask test` runs those first). Builds nothing: the
# binary is KEYWARD_BIN (default: target/debug/keyward).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
KEYWARD="${KEYWARD_BIN:-$REPO/target/debug/keyward}"
case "$KEYWARD" in /*) ;; *) KEYWARD="$PWD/$KEYWARD" ;; esac
NODE_DIR="$REPO/interop/node"
VENV="$REPO/interop/python/.venv"

if [ "$(id -u)" != 0 ]; then
    echo "azure-hosts: needs root for a network namespace (ip netns); run as root" >&2
    exit 2
fi
for need in "$KEYWARD" "$NODE_DIR/node_modules" "$VENV/bin/python"; do
    if [ ! -e "$need" ]; then
        echo "azure-hosts: missing $need (cargo xtask test makes it)" >&2
        exit 2
    fi
done

# The Azure CLI, in a venv of its own (it pins older Key Vault SDKs than interop/python's).
AZ_VENV="$HERE/.az-venv"
if [ ! -x "$AZ_VENV/bin/az" ]; then
    echo "azure-hosts: installing azure-cli into $AZ_VENV (once)"
    python3 -m venv "$AZ_VENV"
    "$AZ_VENV/bin/python" -m pip install --quiet --disable-pip-version-check azure-cli==2.91.0
fi

NS="keyward-azure-$$"
WORK="$(mktemp -d -t keyward-azure-hosts-XXXXXX)"
SERVER_PID=""
cleanup() {
    status=$?
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "/etc/netns/$NS"
    if [ "$status" != 0 ]; then
        echo "azure-hosts: server log:" >&2
        sed 's/^/  | /' "$WORK/server.log" >&2 || true
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT INT TERM

ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
in_ns() { ip netns exec "$NS" "$@"; }

DATA="$WORK/data"
in_ns "$KEYWARD" serve --data "$DATA" --listen 127.0.0.1:443 --public-url https://localhost \
    --azure-hosts --token-lifetime 600 --managed-identity startup-identity >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    [ -f "$DATA/server.json" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "azure-hosts: the server did not start" >&2; exit 1; }
    sleep 0.1
done
[ -f "$DATA/server.json" ] || { echo "azure-hosts: the server did not start in 10 s" >&2; exit 1; }

# The hosts file of the namespace: localhost, and what `keyward hosts` prints.
mkdir -p "/etc/netns/$NS"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$WORK/hosts"
"$KEYWARD" hosts --data "$DATA" --hosts-file "$WORK/hosts" --write >/dev/null
cp "$WORK/hosts" "/etc/netns/$NS/hosts"

# The registrations the code needs, made with the CLI (inside the namespace: the CLI reaches
# the server at https://localhost, trusting the data directory's own local CA).
in_ns env KEYWARD_BIN="$KEYWARD" KEYWARD_DATA="$DATA" WORK="$WORK" node "$NODE_DIR/azure-hosts/setup.mjs"

CA="$DATA/tls/azure-hosts-ca.pem"
echo "azure-hosts: Node suite"
in_ns env -i PATH="$PATH" HOME="$WORK" NODE_EXTRA_CA_CERTS="$CA" SETUP="$WORK/setup.json" \
    node --test --test-concurrency=1 "$NODE_DIR"/azure-hosts/*.test.mjs
echo "azure-hosts: Python suite"
in_ns env -i PATH="$PATH" HOME="$WORK" REQUESTS_CA_BUNDLE="$CA" SETUP="$WORK/setup.json" \
    AZ="$AZ_VENV/bin/az" AZURE_CONFIG_DIR="$WORK/azure-cli" LOCAL_CA="$DATA/tls/ca.pem" KEYWARD_URL=https://localhost \
    "$VENV/bin/python" -m pytest -q -p no:cacheprovider --rootdir "$HERE/python" "$HERE/python"
