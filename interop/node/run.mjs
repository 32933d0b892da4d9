#!/usr/bin/env node
// Runs the Node interop suite against a real `keyward serve`.
//
// Builds nothing: the binary comes from KEYWARD_BIN (default: target/debug/keyward at the repo
// root). Starts the server on a free port with a fresh data directory, waits until it is ready,
// runs `node --test` on tests/*.test.mjs with the server's CA in NODE_EXTRA_CA_CERTS (how real
// users trust it), stops the server with SIGTERM and exits with the test runner's code. The
// steps are ../lib/suite.mjs, shared with the browser suite.
//
// Arguments: test files to run instead of all of them (e.g. tests/keyvault-auth.test.mjs).
// Environment: KEYWARD_BIN, KEYWARD_INTEROP_TIMEOUT_MS (whole test run, default 600000),
// KEYWARD_INTEROP_KEEP=1 (keep the temporary directory and say where it is).

import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { debugBinary, installed, runSuite } from "../lib/suite.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));

async function main() {
  const bin = debugBinary("KEYWARD_BIN", "keyward");
  if (!bin || !installed(HERE)) return 2;

  return runSuite({
    suite: HERE,
    bin,
    tmpPrefix: "keyward-interop-node-",
    timeoutVariable: "KEYWARD_INTEROP_TIMEOUT_MS",
    keepVariable: "KEYWARD_INTEROP_KEEP",
  });
}

// Exit explicitly: nothing left behind (a stray pipe, a timer) may keep this script alive.
process.exit(await main());
