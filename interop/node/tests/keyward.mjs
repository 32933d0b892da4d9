// Shared helpers for the interop tests: drive the real `keyward` CLI against the running server,
// and verify access tokens against the server's own discovery document and JWKS.
//
// run.mjs provides the environment: KEYWARD_URL, KEYWARD_DATA, KEYWARD_BIN, KEYWARD_TENANT and
// NODE_EXTRA_CA_CERTS (the server's local CA, which is how MSAL and azure-identity trust it).

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the suite through run.mjs (see README.md)`);
  }
  return value;
}

export const KEYWARD_URL = required("KEYWARD_URL");
export const KEYWARD_DATA = required("KEYWARD_DATA");
export const KEYWARD_BIN = required("KEYWARD_BIN");
export const KEYWARD_TENANT = required("KEYWARD_TENANT");

/** The authority MSAL is configured with, exactly as the server prints it. */
export const AUTHORITY = `${KEYWARD_URL}/${KEYWARD_TENANT}/`;
/** `knownAuthorities` for MSAL Node: host:port of the authority. */
export const KNOWN_AUTHORITIES = [new URL(KEYWARD_URL).host];
/** The role every client is granted on every resource. */
export const ROLE = "Tasks.Read.All";
/** A bound for everything one test does (CLI calls, RSA key generation, token requests). */
export const TEST_TIMEOUT_MS = 60_000;

const CA = readFileSync(join(KEYWARD_DATA, "tls", "ca.pem"));
const CLI_TIMEOUT_MS = 30_000;

// A work directory for this test file's certificates and keys, removed when the process exits.
const WORK = mkdtempSync(join(tmpdir(), "keyward-interop-work-"));
process.on("exit", () => rmSync(WORK, { recursive: true, force: true }));

function random() {
  return randomBytes(4).toString("hex");
}

/** Runs the keyward binary and parses its `--json` output; a failure shows the CLI's own message. */
function cli(args) {
  try {
    const out = execFileSync(KEYWARD_BIN, [...args, "--json"], {
      encoding: "utf8",
      timeout: CLI_TIMEOUT_MS,
      stdio: ["ignore", "pipe", "pipe"],
    });
    return out.trim() === "" ? null : JSON.parse(out);
  } catch (error) {
    const stderr = error.stderr ? String(error.stderr).trim() : "";
    throw new Error(`keyward ${args.join(" ")} failed (${error.status ?? error.signal ?? error.code}): ${stderr || error.message}`);
  }
}

/** Runs a `keyward` command that talks to the running server (`app ...`). */
export function kw(...args) {
  return cli([...args, "--data", KEYWARD_DATA]);
}

/**
 * A resource application (`tasks-api`) with a random identifier URI and the app role
 * Tasks.Read.All. Display names repeat across tests, so everything after creation uses the appId.
 */
export function createResource() {
  const identifierUri = `api://tasks-${random()}`;
  const app = kw("app", "create", "--name", "tasks-api", "--identifier-uri", identifierUri);
  assert.deepEqual(app.identifierUris, [identifierUri]);
  const role = kw("app", "role", "add", app.appId, "--value", ROLE);
  assert.equal(role.value, ROLE);
  return { appId: app.appId, identifierUri, scope: `${identifierUri}/.default` };
}

/**
 * A client application granted Tasks.Read.All on each resource given. `servicePrincipalId` is the
 * object id of its service principal: what an app token carries as `oid` and `sub`.
 */
export function createClient(name, ...resources) {
  const app = kw("app", "create", "--name", `${name}-${random()}`);
  let servicePrincipalId;
  for (const resource of resources) {
    const grant = kw("app", "grant", app.appId, resource.appId, ROLE);
    servicePrincipalId = grant.principalId;
  }
  return { appId: app.appId, servicePrincipalId };
}

/**
 * `keyward cert new` in the work directory. Returns the CLI's JSON (thumbprint, thumbprintSha256,
 * x5t, ...) and the files' contents: `pem` (certificate), `key` (PKCS#8, encrypted when a password
 * is given), `prefix`.
 */
export function newCertificate(cn, { password } = {}) {
  const prefix = join(WORK, `${cn}-${random()}`);
  const args = ["cert", "new", "--subject", `CN=${cn}`, "--out", prefix];
  if (password === undefined) {
    args.push("--no-password");
  } else {
    const passwordFile = `${prefix}.password`;
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    args.push("--password-file", passwordFile);
  }
  const info = cli(args);
  assert.match(info.thumbprint, /^[0-9A-F]{40}$/);
  assert.match(info.thumbprintSha256, /^[0-9A-F]{64}$/);
  return {
    ...info,
    prefix,
    pem: readFileSync(`${prefix}.pem`, "utf8"),
    key: readFileSync(`${prefix}.key`, "utf8"),
  };
}

/** Registers the certificate's public part (`PREFIX.cer`) on the application. */
export function addCertificate(appId, certificate) {
  const credential = kw("app", "cert", "add", appId, `${certificate.prefix}.cer`);
  assert.equal(credential.customKeyIdentifier, certificate.thumbprint);
  return credential;
}

/** A client with a fresh certificate, registered and granted on the resources. */
export function clientWithCertificate(name, ...resources) {
  const client = createClient(name, ...resources);
  const certificate = newCertificate(name);
  addCertificate(client.appId, certificate);
  return { ...client, certificate };
}

/** Adds a client secret; returns its text (shown once). */
export function addSecret(appId) {
  const secret = kw("app", "secret", "add", appId);
  assert.equal(typeof secret.secretText, "string");
  assert.ok(secret.secretText.length >= 16, "a client secret should not be short");
  return secret.secretText;
}

/** GET over HTTPS trusting the server's CA explicitly; resolves to the parsed JSON body. */
export function getJson(url) {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca: CA, timeout: 10_000 }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => {
        if (response.statusCode !== 200) {
          reject(new Error(`GET ${url}: HTTP ${response.statusCode}: ${body}`));
          return;
        }
        try {
          resolve(JSON.parse(body));
        } catch (error) {
          reject(new Error(`GET ${url}: not JSON (${error.message}): ${body}`));
        }
      });
    });
    request.on("timeout", () => request.destroy(new Error(`GET ${url}: timed out`)));
    request.on("error", reject);
  });
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let discoveryPromise;
/** Discovery document, the tenant GUID it names, and the JWKS it points to (fetched once). */
export function discovery() {
  discoveryPromise ??= (async () => {
    const metadata = await getJson(`${AUTHORITY}v2.0/.well-known/openid-configuration`);
    const issuer = new URL(metadata.issuer);
    assert.equal(issuer.origin, KEYWARD_URL, "the issuer's origin must be the server's public URL");
    const [tenantId, version, ...rest] = issuer.pathname.split("/").filter(Boolean);
    assert.match(tenantId, GUID, `issuer ${metadata.issuer} should name the tenant GUID`);
    assert.equal(version, "v2.0");
    assert.deepEqual(rest, []);
    const jwks = await getJson(metadata.jwks_uri);
    assert.ok(Array.isArray(jwks.keys) && jwks.keys.length > 0, "JWKS has no keys");
    return { metadata, tenantId, jwks, keySet: createLocalJWKSet(jwks) };
  })();
  return discoveryPromise;
}

/**
 * Verifies an app access token as a resource server would: signature against the JWKS, issuer
 * from discovery, audience = the resource's appId; then the claims Entra puts in an app token.
 *
 * `expiresAt` is when the client believes the token expires (a Date or epoch milliseconds).
 */
export async function verifyAppToken(token, { resource, client, azpacr, expiresAt }) {
  assert.equal(typeof token, "string", "no access token");
  const { metadata, tenantId, jwks, keySet } = await discovery();
  const { payload, protectedHeader } = await jwtVerify(token, keySet, {
    issuer: metadata.issuer,
    audience: resource.appId,
    algorithms: ["RS256"],
  });

  assert.equal(protectedHeader.alg, "RS256");
  assert.ok(protectedHeader.kid, "access token header has no kid");
  assert.ok(protectedHeader.x5t, "access token header has no x5t");
  const jwk = jwks.keys.find((key) => key.kid === protectedHeader.kid);
  assert.ok(jwk, `kid ${protectedHeader.kid} is not in the JWKS`);
  if (jwk.x5t) assert.equal(protectedHeader.x5t, jwk.x5t, "x5t does not match the JWKS entry");

  assert.equal(payload.aud, resource.appId);
  assert.equal(payload.iss, `${KEYWARD_URL}/${tenantId}/v2.0`);
  assert.equal(payload.tid, tenantId);
  assert.equal(payload.azp, client.appId);
  assert.equal(payload.azpacr, azpacr);
  assert.deepEqual(payload.roles, [ROLE]);
  assert.equal(payload.idtyp, "app");
  assert.equal(payload.ver, "2.0");
  assert.equal(payload.scp, undefined, "an app token has no scp");
  assert.match(payload.oid, GUID);
  assert.equal(payload.sub, payload.oid, "an app token's sub is its oid");
  if (client.servicePrincipalId) {
    assert.equal(payload.oid, client.servicePrincipalId, "oid should be the client's service principal");
  }
  assert.equal(typeof payload.uti, "string");

  const now = Math.floor(Date.now() / 1000);
  assert.ok(Number.isInteger(payload.iat) && Number.isInteger(payload.nbf) && Number.isInteger(payload.exp));
  assert.ok(payload.nbf <= now + 5 && payload.iat <= now + 5, "token issued in the future");
  const lifetime = payload.exp - now;
  assert.ok(lifetime >= 300 && lifetime <= 24 * 3600, `token lifetime ${lifetime} s is not sane`);

  if (expiresAt !== undefined) {
    const clientExpiry = Math.floor(new Date(expiresAt).getTime() / 1000);
    assert.ok(Number.isFinite(clientExpiry), `client-side expiry ${expiresAt} is not a time`);
    assert.ok(
      Math.abs(clientExpiry - payload.exp) <= 60,
      `the client thinks the token expires at ${clientExpiry}, the token says ${payload.exp}`,
    );
  }
  return { payload, protectedHeader };
}

/** The header of the client assertion MSAL built and cached on a ConfidentialClientApplication. */
export function cachedAssertionHeader(cca) {
  const assertion = cca.clientAssertion?.jwt;
  assert.equal(typeof assertion, "string", "MSAL kept no client assertion");
  return { jwt: assertion, header: decodeProtectedHeader(assertion) };
}

/** base64url of a hex thumbprint, as MSAL writes x5t / x5t#S256. */
export function hexToBase64Url(hex) {
  return Buffer.from(hex, "hex").toString("base64url");
}

/** Awaits a promise that must reject; returns the error (fails the test if it resolves). */
export async function rejection(promise, what) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail(`${what} should have been refused`);
}

/** Details of an MSAL / azure-identity error for assertion messages. */
export function describeError(error) {
  const fields = ["name", "errorCode", "subError", "errorMessage", "message", "correlationId"];
  return fields
    .filter((field) => error?.[field])
    .map((field) => `${field}=${JSON.stringify(error[field])}`)
    .join(" ");
}
