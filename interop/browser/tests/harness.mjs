// Shared helpers for the browser tests: the real `keyward` CLI against the running server, the
// real apps as child processes, and Debian's Chromium driven by playwright-core.
//
// run.mjs provides the environment: KEYWARD_URL, KEYWARD_DATA, KEYWARD_BIN, KEYWARD_TENANT,
// KEYWARD_TOKEN_LIFETIME, WEBAPP_BIN, CHROMIUM, SCREENSHOTS and NODE_EXTRA_CA_CERTS.

import { execFileSync, spawn } from "node:child_process";
import { X509Certificate, createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite through run.mjs (see README.md)`);
  return value;
}

export const KEYWARD_URL = required("KEYWARD_URL");
export const KEYWARD_DATA = required("KEYWARD_DATA");
export const KEYWARD_BIN = required("KEYWARD_BIN");
export const KEYWARD_TENANT = required("KEYWARD_TENANT");
export const TOKEN_LIFETIME_SECONDS = Number(required("KEYWARD_TOKEN_LIFETIME"));
export const WEBAPP_BIN = required("WEBAPP_BIN");
const CHROMIUM = required("CHROMIUM");
const SCREENSHOTS = required("SCREENSHOTS");

/** The authority, exactly as the server prints it and the article's AUTHORITY takes it. */
export const AUTHORITY = `${KEYWARD_URL}/${KEYWARD_TENANT}/`;
/** A bound for one whole browser test (sign-up, sign-in, renewal, sign-out). */
export const TEST_TIMEOUT_MS = 120_000;

const CA_FILE = join(KEYWARD_DATA, "tls", "ca.pem");
const CA = readFileSync(CA_FILE);

/** A work directory for this test file's files, removed when the process exits. */
export const WORK = mkdtempSync(join(tmpdir(), "keyward-browser-work-"));
process.on("exit", () => rmSync(WORK, { recursive: true, force: true }));

export function random() {
  return randomBytes(4).toString("hex");
}

/** Runs the keyward binary with `--json`; a failure shows the CLI's own message. */
function cli(args) {
  try {
    const out = execFileSync(KEYWARD_BIN, [...args, "--json"], {
      encoding: "utf8",
      timeout: 30_000,
      stdio: ["ignore", "pipe", "pipe"],
    });
    return out.trim() === "" ? null : JSON.parse(out);
  } catch (error) {
    const stderr = error.stderr ? String(error.stderr).trim() : "";
    throw new Error(`keyward ${args.join(" ")} failed (${error.status ?? error.signal}): ${stderr || error.message}`);
  }
}

/** A `keyward` command against the running server. */
export function kw(...args) {
  return cli([...args, "--data", KEYWARD_DATA]);
}

/**
 * Registers a web app with `redirectUris` and a fresh certificate made by `keyward cert new`
 * (its key encrypted when `password` is given), uploaded as the article says. Returns the app
 * (`appId`, ...) and the certificate files (`pem`, `key`, `cer`), thumbprints and password.
 */
export function registerWebApp(name, redirectUris, { password } = {}) {
  const args = ["app", "create", "--name", name];
  for (const uri of redirectUris) args.push("--redirect-uri", uri);
  const app = kw(...args);
  assert.match(app.appId, GUID);
  const prefix = join(WORK, `${name}-${random()}`);
  const certArgs = ["cert", "new", "--subject", `CN=${name}`, "--out", prefix];
  if (password === undefined) {
    certArgs.push("--no-password");
  } else {
    writeFileSync(`${prefix}.password`, `${password}\n`, { mode: 0o600 });
    certArgs.push("--password-file", `${prefix}.password`);
  }
  const certificate = cli(certArgs);
  const uploaded = kw("app", "cert", "add", app.appId, `${prefix}.cer`);
  assert.equal(uploaded.customKeyIdentifier, certificate.thumbprint);
  return {
    app,
    certificate: { ...certificate, pem: `${prefix}.pem`, key: `${prefix}.key`, cer: `${prefix}.cer`, password },
  };
}

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A TCP port free right now on 127.0.0.1. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** GET over HTTPS trusting the server's CA; resolves to the parsed JSON. */
export function getJson(url) {
  return new Promise((resolveJson, reject) => {
    const request = https.get(url, { ca: CA, timeout: 10_000 }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => {
        if (response.statusCode !== 200) return reject(new Error(`GET ${url}: HTTP ${response.statusCode}: ${body}`));
        try {
          resolveJson(JSON.parse(body));
        } catch (error) {
          reject(new Error(`GET ${url}: not JSON: ${error.message}`));
        }
      });
    });
    request.on("timeout", () => request.destroy(new Error(`GET ${url}: timed out`)));
    request.on("error", reject);
  });
}

let discoveryPromise;
/** The tenant's discovery document and its GUID (from the issuer). */
export function discovery() {
  discoveryPromise ??= (async () => {
    const metadata = await getJson(`${AUTHORITY}v2.0/.well-known/openid-configuration`);
    const [tenantId] = new URL(metadata.issuer).pathname.split("/").filter(Boolean);
    assert.match(tenantId, GUID);
    return { metadata, tenantId };
  })();
  return discoveryPromise;
}

/** The plain-HTTP status of `url`, or undefined when nothing answers. */
function httpStatus(url) {
  return new Promise((resolveStatus) => {
    const request = http.get(url, { timeout: 2_000 }, (response) => {
      response.resume();
      resolveStatus(response.statusCode);
    });
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolveStatus(undefined));
  });
}

/**
 * Starts a child process that serves HTTP on `port` and waits until `GET /healthz` answers 200.
 * Returns `{ child, output, stop }`; `stop()` sends SIGTERM and waits for the exit code.
 */
export async function startHttpProcess(command, args, { env, cwd, port }) {
  const child = spawn(command, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
  const output = [];
  child.stdout.on("data", (chunk) => output.push(chunk));
  child.stderr.on("data", (chunk) => output.push(chunk));
  const exit = new Promise((resolveExit) => child.once("exit", (code, signal) => resolveExit({ code, signal })));
  const text = () => Buffer.concat(output).toString("utf8");
  const deadline = Date.now() + 30_000;
  while ((await httpStatus(`http://127.0.0.1:${port}/healthz`)) !== 200) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${command} exited during start-up (code ${child.exitCode}):\n${text()}`);
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${command} did not answer on port ${port} within 30 s:\n${text()}`);
    }
    await sleep(100);
  }
  return {
    child,
    output: text,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const result = await Promise.race([exit, sleep(10_000).then(() => undefined)]);
      if (!result) {
        child.kill("SIGKILL");
        throw new Error(`${command} did not stop within 10 s of SIGTERM:\n${text()}`);
      }
      return result;
    },
  };
}

/** base64 SHA-256 of a certificate's SubjectPublicKeyInfo, as Chromium's SPKI list takes it. */
function spkiHash(pemFile) {
  const pem = readFileSync(pemFile, "utf8").match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/)[0];
  const der = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("base64");
}

/**
 * Debian's Chromium, headless, trusting the server's local CA (by its key, through
 * --ignore-certificate-errors-spki-list: any other certificate error still fails the page), or
 * the CA in `caFile`.
 */
export async function launchBrowser(caFile = CA_FILE) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      `--ignore-certificate-errors-spki-list=${spkiHash(caFile)}`,
    ],
  });
}

/**
 * Debian's Chromium, headless, with `home` as its HOME: it trusts what `home`/.pki/nssdb (the
 * NSS database Chromium reads on Linux) trusts, and nothing by key or by flag; no
 * --ignore-certificate-errors of any kind.
 */
export async function launchBrowserWithHome(home) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    env: { PATH: process.env.PATH, HOME: home },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** Saves a full-page screenshot as target/browser-screenshots/NAME.png. */
export async function shot(page, name) {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Fills the hosted sign-up page of the authority at `authority` (an origin). */
export async function signUp(page, { email, name, password }, { authority = KEYWARD_URL } = {}) {
  await page.waitForSelector('input[name="display_name"]');
  assert.ok(page.url().startsWith(authority), `the sign-up page is the authority's, not ${page.url()}`);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="display_name"]', name);
  await page.fill('input[name="password"]', password);
  assert.equal(await page.getAttribute('input[name="password"]', "autocomplete"), "new-password");
}

/** Fills the authority's hosted sign-in page. */
export async function signIn(page, { email, password }) {
  await page.waitForSelector('input[name="password"][autocomplete="current-password"]');
  assert.ok(page.url().startsWith(KEYWARD_URL), `the sign-in page is the authority's, not ${page.url()}`);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
}

/** Submits the hosted page's form and waits until the browser is back at `url` (a prefix). */
export async function submitAndReturnTo(page, url) {
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(url), { timeout: 30_000 }),
    page.click('form button[type="submit"]'),
  ]);
}

/** A password the hosted pages accept. */
export function newPassword() {
  return `Pw-${randomBytes(9).toString("base64url")}`;
}
