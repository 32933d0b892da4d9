#!/usr/bin/env node
// Runs the browser suite against a real `keyward serve`: Debian's Chromium, driven headless by
// playwright-core, through customer sign-up, sign-in, token renewal and sign-out, in the sample
// web app (the real `webapp` binary) and in an MSAL Node web app, and through the admin center's
// pages (the article's portal steps, with axe-core on every page).
//
// Builds nothing: the binaries come from KEYWARD_BIN and WEBAPP_BIN (default: target/debug/keyward
// and target/debug/webapp at the repo root). Starts the server on a free port with a fresh data
// directory and short-lived access tokens (so that renewal with the refresh token is exercised),
// waits until it is ready, runs `node --test` on tests/*.test.mjs with the server's CA in
// NODE_EXTRA_CA_CERTS, stops the server with SIGTERM and exits with the test runner's code.
// The steps are ../lib/suite.mjs, shared with the Node suite. Screenshots go to
// target/browser-screenshots/.
//
// Arguments: test files to run instead of all of them (e.g. tests/webapp.test.mjs).
// Environment: KEYWARD_BIN, WEBAPP_BIN, CHROMIUM (default /usr/bin/chromium),
// KEYWARD_BROWSER_TIMEOUT_MS (whole test run, default 600000), KEYWARD_BROWSER_KEEP=1 (keep the
// temporary directory and say where it is).

import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { REPO, debugBinary, installed, log, runSuite } from "../lib/suite.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
/** Access tokens live this long, so that the tests see the apps renew them. */
const TOKEN_LIFETIME_SECONDS = 10;

async function main() {
  const bin = debugBinary("KEYWARD_BIN", "keyward");
  if (!bin) return 2;
  const webapp = debugBinary("WEBAPP_BIN", "webapp");
  if (!webapp) return 2;
  const chromium = process.env.CHROMIUM || "/usr/bin/chromium";
  if (!existsSync(chromium)) {
    log(`no Chromium at ${chromium}: apt-get install chromium (cargo xtask test does it), or set CHROMIUM`);
    return 2;
  }
  if (!installed(HERE)) return 2;

  const screenshots = join(REPO, "target", "browser-screenshots");
  rmSync(screenshots, { recursive: true, force: true });
  mkdirSync(screenshots, { recursive: true });

  return runSuite({
    suite: HERE,
    bin,
    tmpPrefix: "keyward-browser-",
    timeoutVariable: "KEYWARD_BROWSER_TIMEOUT_MS",
    keepVariable: "KEYWARD_BROWSER_KEEP",
    serveArgs: ["--token-lifetime", String(TOKEN_LIFETIME_SECONDS)],
    env: {
      KEYWARD_TOKEN_LIFETIME: String(TOKEN_LIFETIME_SECONDS),
      WEBAPP_BIN: webapp,
      CHROMIUM: chromium,
      SCREENSHOTS: screenshots,
    },
  });
}

// Exit explicitly: nothing left behind (a stray pipe, a timer) may keep this script alive.
process.exit(await main());
