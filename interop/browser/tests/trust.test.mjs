// `keyward trust` (issue 13, point 1) with a real browser: Chromium WITHOUT any
// --ignore-certificate-errors flag, its HOME a temporary directory whose NSS database
// (.pki/nssdb, where Chromium on Linux reads the CAs a user trusts) `keyward trust --nss-db`
// filled. First the control: with the database as Chromium makes it, the authority's page is a
// certificate error. Then, trusted: the sample web app's Sign in goes to the authority's sign-in
// page with no TLS error, and a customer signs up and lands on the claims page. Last,
// `keyward trust --uninstall` leaves the database as it was (`certutil -L` as before).
// The machine's own stores are never touched (--store nss, a database of this test's own).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  AUTHORITY,
  KEYWARD_BIN,
  KEYWARD_DATA,
  KEYWARD_URL,
  TEST_TIMEOUT_MS,
  WEBAPP_BIN,
  WORK,
  freePort,
  launchBrowserWithHome,
  newPassword,
  random,
  registerWebApp,
  shot,
  signUp,
  startHttpProcess,
  submitAndReturnTo,
} from "./harness.mjs";

const HOME = join(WORK, "home");
const NSSDB = join(HOME, ".pki", "nssdb");

let webapp;
let origin;

function certutil(...args) {
  return execFileSync("certutil", [...args, "-d", `sql:${NSSDB}`], { encoding: "utf8" });
}

/** `keyward trust --data DATA ARGS`, its output (it fails the test if the command fails). */
function trust(...args) {
  return execFileSync(KEYWARD_BIN, ["trust", "--data", KEYWARD_DATA, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

before(async () => {
  // The database as Chromium makes it on its first start: empty, no password.
  mkdirSync(NSSDB, { recursive: true });
  certutil("-N", "--empty-password");

  const port = await freePort();
  origin = `http://localhost:${port}`;
  const { app, certificate } = registerWebApp("trust-web-app", [`${origin}/auth/redirect`, origin]);
  const dotenv = [
    "# written by trust.test.mjs",
    `CLIENT_ID=${app.appId}`,
    `AUTHORITY=${AUTHORITY}`,
    `REDIRECT_URI=${origin}/auth/redirect`,
    `POST_LOGOUT_REDIRECT_URI=${origin}`,
    `CERTIFICATE_PATH=${certificate.pem}`,
    `PRIVATE_KEY_PATH=${certificate.key}`,
    `CERTIFICATE_THUMBPRINT=${certificate.thumbprint}`,
    `KEYWARD_CA=${join(KEYWARD_DATA, "tls", "ca.pem")}`,
    `PORT=${port}`,
  ].join("\n");
  const cwd = join(WORK, "trust-webapp");
  mkdirSync(cwd);
  writeFileSync(join(cwd, ".env"), `${dotenv}\n`, { mode: 0o600 });
  webapp = await startHttpProcess(WEBAPP_BIN, [], { env: { PATH: process.env.PATH, HOME: process.env.HOME }, cwd, port });
});

after(async () => {
  if (webapp) await webapp.stop();
});

test("Chromium trusts the authority through the NSS database keyward trust filled, and uninstall restores it", { timeout: TEST_TIMEOUT_MS }, async () => {
  const before = certutil("-L");

  // The control: not trusted yet, the authority's page is a certificate error.
  const untrusted = await launchBrowserWithHome(HOME);
  try {
    const page = await untrusted.newPage();
    await assert.rejects(page.goto(`${KEYWARD_URL}/healthz`), /ERR_CERT_AUTHORITY_INVALID/);
  } finally {
    await untrusted.close();
  }

  const installed = trust("--store", "nss", "--nss-db", NSSDB);
  assert.match(installed, /add the local CA to the NSS database/);
  assert.match(certutil("-L"), /^Keyward Local CA [0-9a-f]{16}\s+C,,/m);
  assert.match(trust("--store", "nss", "--nss-db", NSSDB), /Nothing to change/, "a second run changes nothing");

  const browser = await launchBrowserWithHome(HOME);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(origin);
    await page.click("#sign-up");
    // The authority's hosted page, over HTTPS, with no certificate error.
    const user = { email: `trust-${random()}@contoso.example`, name: "Grace Hopper", password: newPassword() };
    await signUp(page, user);
    assert.ok(page.url().startsWith(`${KEYWARD_URL}/`), page.url());
    await shot(page, "trust-1-sign-up-trusted-by-nss");
    await submitAndReturnTo(page, `${origin}/users/id`);
    assert.equal(await page.textContent("#user-name"), user.name);
    await context.close();
  } finally {
    await browser.close();
  }

  const removed = trust("--uninstall", "--store", "nss");
  assert.match(removed, /remove the local CA \([0-9a-f]{16}\) from the NSS database/);
  assert.equal(certutil("-L"), before, "the NSS database lists what it listed before");
});
