// Helpers for the admin center's browser test (admin.test.mjs): the accessibility check with
// axe-core, the phone-width check, downloads, `openssl` as the judge of certificates, and the
// token endpoint spoken to directly.
//
// run.mjs provides the environment (see harness.mjs).

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import https from "node:https";
import { createRequire } from "node:module";
import { join } from "node:path";
import { KEYWARD_DATA, shot } from "./harness.mjs";

const require = createRequire(import.meta.url);
/** axe-core's browser build, from npm (interop/browser's package.json), injected into pages. */
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const CA = readFileSync(join(KEYWARD_DATA, "tls", "ca.pem"));

/** The impacts that fail the check. */
const FAILING_IMPACTS = new Set(["serious", "critical"]);

/**
 * The pages checked so far and what axe found on them: `{ name, url, violations, lesser }`,
 * `violations` the serious and critical ones, `lesser` the others' impact and rule id.
 */
export const accessibility = [];

/**
 * Runs axe-core on `page` as it is now and records its serious and critical violations under
 * `name` (the test asserts on all of them at the end, so that one bad page does not hide the
 * rest of the walk).
 *
 * Injection: the admin center's CSP runs no script without the response's nonce, so a
 * `<script>` added by `page.addScriptTag({ content })` is refused (playwright: "Executing inline
 * script violates the following Content Security Policy directive 'script-src 'nonce-...''").
 * Instead of turning the CSP off for the context (`bypassCSP: true`, which would also take it
 * off everything else this test checks, e.g. that the page's own script runs with its nonce),
 * axe's source is evaluated through the DevTools protocol (`page.evaluate`), which the page's
 * CSP does not govern: the same way @axe-core/playwright injects it. The page under test keeps
 * its real headers.
 */
export async function checkAccessibility(page, name) {
  const present = await page.evaluate(() => typeof window.axe === "object");
  if (!present) await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ["violations"] }),
  );
  const violations = results.violations.filter((v) => FAILING_IMPACTS.has(v.impact));
  const lesser = results.violations.filter((v) => !FAILING_IMPACTS.has(v.impact)).map((v) => `${v.impact} ${v.id}`);
  accessibility.push({ name, url: page.url(), violations, lesser });
  return violations;
}

/** A screenshot (`admin-NAME.png`, full page) and the accessibility check of the page. */
export async function visited(page, name) {
  await shot(page, `admin-${name}`);
  await checkAccessibility(page, name);
}

/** The accessibility findings, readable: one block per violation, with the elements. */
export function describeViolations(pages) {
  const lines = [];
  for (const { name, url, violations } of pages) {
    for (const v of violations) {
      lines.push(`${name} (${url}): [${v.impact}] ${v.id}: ${v.help}`);
      lines.push(`  ${v.helpUrl}`);
      for (const node of v.nodes.slice(0, 5)) {
        lines.push(`  - ${node.target.join(" ")}: ${node.html.slice(0, 200)}`);
        const summary = (node.failureSummary || "").split("\n").map((s) => s.trim()).filter(Boolean);
        for (const s of summary) lines.push(`      ${s}`);
      }
      if (v.nodes.length > 5) lines.push(`  ... and ${v.nodes.length - 5} more elements`);
    }
  }
  return lines.join("\n");
}

/** Whether the page scrolls sideways (its content wider than the viewport). */
export async function horizontalOverflow(page) {
  return page.evaluate(() => {
    const doc = document.documentElement;
    return { scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, overflows: doc.scrollWidth > doc.clientWidth };
  });
}

/** Runs the `openssl` CLI; returns its standard output (a failure shows its standard error). */
export function openssl(...args) {
  try {
    return execFileSync("openssl", args, { encoding: "utf8", timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    throw new Error(`openssl ${args.join(" ")} failed (${error.status ?? error.signal}): ${error.stderr || error.message}`);
  }
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `notBefore=Dec  6 10:50:00 2026 GMT` (openssl's form) as a Date. */
function opensslDate(line) {
  const m = line.trim().match(/^\w+=(\w{3})\s+(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) GMT$/);
  if (!m) throw new Error(`not an openssl date: ${line}`);
  const [, month, day, h, min, s, year] = m;
  return new Date(Date.UTC(Number(year), MONTHS.indexOf(month), Number(day), Number(h), Number(min), Number(s)));
}

/**
 * What `openssl x509` says of the certificate in `file` (`inform`: PEM or DER): the SHA-1
 * fingerprint as the portal shows a thumbprint (upper-case hex, no colons), the SHA-256 one
 * alike, start, expiry and subject.
 */
export function opensslCertificate(file, inform = "PEM") {
  const fingerprint = openssl("x509", "-inform", inform, "-in", file, "-noout", "-fingerprint", "-sha1").trim();
  const m = fingerprint.match(/^SHA1 Fingerprint=([0-9A-F:]+)$/i);
  if (!m) throw new Error(`unexpected openssl fingerprint output: ${fingerprint}`);
  const sha256 = openssl("x509", "-inform", inform, "-in", file, "-noout", "-fingerprint", "-sha256").trim();
  return {
    thumbprint: m[1].replaceAll(":", "").toUpperCase(),
    sha256: sha256.replace(/^SHA256 Fingerprint=/i, "").replaceAll(":", "").toUpperCase(),
    start: opensslDate(openssl("x509", "-inform", inform, "-in", file, "-noout", "-startdate")),
    expires: opensslDate(openssl("x509", "-inform", inform, "-in", file, "-noout", "-enddate")),
    subject: openssl("x509", "-inform", inform, "-in", file, "-noout", "-subject").trim(),
  };
}

/** POST an urlencoded form over HTTPS trusting the server's CA; resolves to `{ status, json }`. */
export function postForm(url, fields) {
  const body = new URLSearchParams(fields).toString();
  return new Promise((resolvePost, reject) => {
    const request = https.request(
      url,
      {
        method: "POST",
        ca: CA,
        timeout: 10_000,
        headers: { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) },
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => {
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolvePost({ status: response.statusCode, json, text });
        });
      },
    );
    request.on("timeout", () => request.destroy(new Error(`POST ${url}: timed out`)));
    request.on("error", reject);
    request.end(body);
  });
}

/** Clicks `locator` and saves the download it starts under `dir`; returns `{ path, filename }`. */
export async function download(page, locator, dir) {
  const [file] = await Promise.all([page.waitForEvent("download", { timeout: 30_000 }), locator.click()]);
  const failure = await file.failure();
  if (failure) throw new Error(`the download failed: ${failure}`);
  const filename = file.suggestedFilename();
  const path = join(dir, `downloaded-${filename}`);
  await file.saveAs(path);
  return { path, filename };
}

/**
 * The value shown beside the term `label` (its whole text, or a RegExp) in a `<dl>`: the `<dd>`
 * after the `<dt>`.
 */
export function fact(scope, label) {
  const text = typeof label === "string" ? new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*$`) : label;
  return scope.locator("dt").filter({ hasText: text }).first().locator("xpath=following-sibling::dd[1]");
}
