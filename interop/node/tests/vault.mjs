// Shared helpers for the vault tests: the Azure Key Vault SDKs (@azure/keyvault-certificates,
// @azure/keyvault-secrets), unmodified, against the vault `keyward serve` runs on its own origin.
//
// The default vault is the bare host (KEYWARD_URL). Its challenge names the authority
// `KEYWARD_URL/{tenant GUID}` and the resource `https://vault.keyward.localhost`; the SDKs need
// `disableChallengeResourceVerification: true` because `localhost` does not end with
// `.vault.keyward.localhost`, and the credential needs `disableInstanceDiscovery: true` with
// `authorityHost`. Nothing else differs from Azure.
//
// The bootstrap admin (DATA/admin/) has every permission on the default vault: it creates and
// imports certificates. Test apps get exactly the permissions a test grants them.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { X509Certificate, createHash, createPrivateKey, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ClientCertificateCredential } from "@azure/identity";
import { CertificateClient } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";
import { KEYWARD_DATA, KEYWARD_URL, createClient, kw, newCertificate } from "./keyward.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "..", "..", "..");

/** The default vault: the server's bare origin. */
export const VAULT_URL = KEYWARD_URL;
/** The resource the vault's challenge names; tokens are asked for `resource/.default`. */
export const VAULT_RESOURCE = "https://vault.keyward.localhost";
export const VAULT_SCOPE = `${VAULT_RESOURCE}/.default`;
const GRAPH_SCOPE = "https://graph.microsoft.com/.default";

/** What pointing the Key Vault SDKs at Keyward takes (the wire contract's documented flag). */
export const VAULT_CLIENT_OPTIONS = { disableChallengeResourceVerification: true };
/** What pointing azure-identity at Keyward takes. */
export const CREDENTIAL_OPTIONS = { authorityHost: KEYWARD_URL, disableInstanceDiscovery: true };

/** The Key Vault-made fixtures; CI puts `shared` beside the clone. */
export const FIXTURES = join(REPO, "..", "shared", "fixtures", "azure-key-vault");
/** The PFX fixture's SHA-1 thumbprint (see its README). */
export const FIXTURE_PFX_THUMBPRINT = "430CB3D0ECCC21A3E991A6B02A877D858F32C5D7";

export function fixture(name) {
  const path = join(FIXTURES, name);
  if (!existsSync(path)) {
    throw new Error(`fixture ${path} is missing: the shared directory must sit beside the clone`);
  }
  return readFileSync(path);
}

const CA = readFileSync(join(KEYWARD_DATA, "tls", "ca.pem"));
const ADMIN = JSON.parse(readFileSync(join(KEYWARD_DATA, "admin", "admin.json"), "utf8"));
/** The tenant's GUID: what the vault's challenge names, so what AZURE_TENANT_ID must be. */
export const TENANT_ID = ADMIN.tenantId;

const WORK = mkdtempSync(join(tmpdir(), "keyward-interop-vault-"));
process.on("exit", () => rmSync(WORK, { recursive: true, force: true }));
export function workPath(name) {
  return join(WORK, name);
}

/** The bootstrap admin as an azure-identity credential (certificate + key in one PEM). */
export const adminCredential = new ClientCertificateCredential(
  ADMIN.tenantId,
  ADMIN.appId,
  {
    certificate: `${readFileSync(join(KEYWARD_DATA, "admin", "admin.pem"), "utf8").trimEnd()}\n${readFileSync(
      join(KEYWARD_DATA, "admin", "admin.key"),
      "utf8",
    )}`,
  },
  CREDENTIAL_OPTIONS,
);
export const adminCertificates = new CertificateClient(VAULT_URL, adminCredential, VAULT_CLIENT_OPTIONS);
export const adminSecrets = new SecretClient(VAULT_URL, adminCredential, VAULT_CLIENT_OPTIONS);

/** A Key Vault object name (letters, digits, hyphens) unique to this run. */
export function uniqueName(prefix) {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** Polling options for the SDKs' long-running operations: fast, the server is local. */
export const POLL = { intervalInMs: 100 };

// -- raw HTTPS ------------------------------------------------------------------------------------

/**
 * One HTTPS request to the server, trusting its CA explicitly. Resolves to
 * `{ status, headers, text, json }` whatever the status.
 */
export function request(method, url, { token, body, headers = {} } = {}) {
  return new Promise((resolveResponse, reject) => {
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const allHeaders = { ...headers };
    if (token !== undefined) allHeaders.authorization = `Bearer ${token}`;
    if (payload !== undefined) {
      allHeaders["content-type"] ??= "application/json";
      allHeaders["content-length"] = Buffer.byteLength(payload);
    }
    const req = https.request(url, { method, ca: CA, timeout: 10_000, headers: allHeaders }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => {
        let json;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolveResponse({ status: response.statusCode, headers: response.headers, text, json });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${url}: timed out`)));
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** A short description of a raw response for assertion messages. */
export function describeResponse(response) {
  return `HTTP ${response.status} www-authenticate=${JSON.stringify(response.headers["www-authenticate"])} body=${response.text}`;
}

// -- tokens and management ------------------------------------------------------------------------

/** A vault token of the admin (the audience the challenge names). */
export async function adminVaultToken() {
  return (await adminCredential.getToken(VAULT_SCOPE)).token;
}

/** A Microsoft Graph token of the admin: valid, signed by the authority, but for another audience. */
export async function adminGraphToken() {
  return (await adminCredential.getToken(GRAPH_SCOPE)).token;
}

/**
 * Gives the application these permissions on the default vault (replacing what it had), with
 * the CLI: `keyward vault grant APPID --certificates a,b --secrets c`.
 */
export function grantVault(appId, { certificates = [], secrets = [] }) {
  const args = ["vault", "grant", appId];
  if (certificates.length) args.push("--certificates", certificates.join(","));
  if (secrets.length) args.push("--secrets", secrets.join(","));
  kw(...args);
}

/**
 * An application with a fresh certificate (from `keyward cert new`) registered on it, and the
 * PEM bundle (certificate then key) that AZURE_CLIENT_CERTIFICATE_PATH / certificatePath take.
 */
export function appWithCertificate(name) {
  const client = createClient(name);
  const certificate = newCertificate(name);
  const credential = kw("app", "cert", "add", client.appId, `${certificate.prefix}.cer`);
  assert.equal(credential.customKeyIdentifier, certificate.thumbprint);
  const bundlePath = `${certificate.prefix}.bundle.pem`;
  writeFileSync(bundlePath, `${certificate.pem.trimEnd()}\n${certificate.key}`, { mode: 0o600 });
  return { ...client, certificate, bundlePath };
}

/** A ClientCertificateCredential for an app made by appWithCertificate, in the tenant's GUID. */
export function credentialOf(app) {
  return new ClientCertificateCredential(TENANT_ID, app.appId, { certificatePath: app.bundlePath }, CREDENTIAL_OPTIONS);
}

// -- certificate and secret checks ----------------------------------------------------------------

/** Uppercase hex SHA-1 / SHA-256 of DER bytes. */
export function sha1Hex(der) {
  return createHash("sha1").update(der).digest("hex").toUpperCase();
}
export function sha256Hex(der) {
  return createHash("sha256").update(der).digest("hex").toUpperCase();
}

const VERSION = /^[0-9a-f]{32}$/;

/** Checks a KeyVaultCertificate(WithPolicy) as the SDK returns it, against its own `cer`. */
export function assertCertificateBundle(certificate, name) {
  assert.equal(certificate.name, name);
  assert.match(certificate.properties.version, VERSION, `version ${certificate.properties.version}`);
  const version = certificate.properties.version;
  assert.equal(certificate.properties.id, `${VAULT_URL}/certificates/${name}/${version}`);
  assert.equal(certificate.properties.vaultUrl, VAULT_URL);
  assert.equal(certificate.keyId, `${VAULT_URL}/keys/${name}/${version}`);
  assert.equal(certificate.secretId, `${VAULT_URL}/secrets/${name}/${version}`);
  assert.ok(certificate.cer instanceof Uint8Array && certificate.cer.length > 300, "no cer");
  const der = Buffer.from(certificate.cer);
  // x5t on the wire is base64url SHA-1 of the DER; the SDK gives it as bytes and as hex.
  assert.equal(Buffer.from(certificate.properties.x509Thumbprint).toString("hex").toUpperCase(), sha1Hex(der));
  assert.equal(certificate.properties.x509ThumbprintString, sha1Hex(der).toLowerCase());
  const x509 = new X509Certificate(der);
  assert.equal(certificate.properties.enabled, true);
  assert.ok(certificate.properties.createdOn instanceof Date);
  assert.ok(certificate.properties.updatedOn instanceof Date);
  assert.equal(certificate.properties.notBefore.getTime(), new Date(x509.validFrom).getTime());
  assert.equal(certificate.properties.expiresOn.getTime(), new Date(x509.validTo).getTime());
  assert.equal(certificate.properties.recoveryLevel, "Recoverable+Purgeable");
  return { der, x509, version };
}

/** The PEM blocks of a text, in order, as `{ label, body, lines }`. */
function pemBlocks(text) {
  const blocks = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\n([\s\S]*?)-----END \1-----\n/g;
  let match;
  let end = 0;
  while ((match = re.exec(text)) !== null) {
    assert.equal(match.index, end, `unexpected text between PEM blocks at ${end}: ${JSON.stringify(text.slice(end, match.index))}`);
    end = re.lastIndex;
    const lines = match[2].split("\n").slice(0, -1);
    blocks.push({ label: match[1], body: Buffer.from(lines.join(""), "base64"), lines, text: match[0] });
  }
  assert.equal(end, text.length, `unexpected text after the last PEM block: ${JSON.stringify(text.slice(end))}`);
  return blocks;
}

/**
 * The contract's PEM secret: an unencrypted PKCS#8 key first, then the certificate (then any
 * chain), 64-character base64 lines, LF only, a trailing newline. Returns the key and the DER of
 * the leaf certificate.
 */
export function assertPemSecret(value, certificateDer) {
  assert.equal(typeof value, "string");
  assert.ok(!value.includes("\r"), "the PEM secret has CR characters");
  assert.ok(value.startsWith("-----BEGIN PRIVATE KEY-----\n"), `the PEM secret starts with ${JSON.stringify(value.slice(0, 40))}`);
  assert.ok(value.endsWith("-----END CERTIFICATE-----\n"), "the PEM secret does not end with a certificate and a newline");
  const blocks = pemBlocks(value);
  assert.ok(blocks.length >= 2, `${blocks.length} PEM blocks`);
  assert.equal(blocks[0].label, "PRIVATE KEY");
  for (const block of blocks.slice(1)) assert.equal(block.label, "CERTIFICATE");
  for (const block of blocks) {
    block.lines.forEach((line, i) => {
      if (i < block.lines.length - 1) assert.equal(line.length, 64, `${block.label} line ${i} is ${line.length} characters`);
      else assert.ok(line.length > 0 && line.length <= 64, `${block.label} last line is ${line.length} characters`);
      assert.match(line, /^[A-Za-z0-9+/=]+$/);
    });
  }
  assert.deepEqual(blocks[1].body, Buffer.from(certificateDer), "the PEM secret's certificate is not the certificate");
  const key = createPrivateKey({ key: blocks[0].text, format: "pem" });
  const x509 = new X509Certificate(Buffer.from(certificateDer));
  assert.ok(x509.checkPrivateKey(key), "the PEM secret's key does not belong to the certificate");
  return { key, keyPem: blocks[0].text };
}

/** Runs openssl; returns stdout (a Buffer) or throws with its stderr. */
export function openssl(args, input) {
  try {
    return execFileSync("openssl", args, { input, timeout: 30_000, stdio: ["pipe", "pipe", "pipe"] });
  } catch (error) {
    throw new Error(`openssl ${args.join(" ")} failed: ${error.stderr ? String(error.stderr) : error.message}`);
  }
}

/**
 * The contract's PKCS#12 secret: standard base64 of a PFX that opens with an empty password
 * (checked with the real `openssl pkcs12 -passin pass:`), holding the certificate and its key.
 */
export function assertPkcs12Secret(value, certificateDer) {
  assert.equal(typeof value, "string");
  assert.match(value, /^[A-Za-z0-9+/]+={0,2}$/, "the PKCS#12 secret is not standard base64");
  const pfx = Buffer.from(value, "base64");
  assert.equal(pfx.toString("base64"), value, "the PKCS#12 secret is not canonical base64");
  const path = workPath(`${randomBytes(4).toString("hex")}.pfx`);
  writeFileSync(path, pfx, { mode: 0o600 });
  const certPem = openssl(["pkcs12", "-in", path, "-passin", "pass:", "-nokeys", "-clcerts"]).toString();
  const keyPem = openssl(["pkcs12", "-in", path, "-passin", "pass:", "-nocerts", "-nodes"]).toString();
  const certificate = new X509Certificate(certPem);
  assert.deepEqual(certificate.raw, Buffer.from(certificateDer), "the PFX's certificate is not the certificate");
  const key = createPrivateKey({ key: keyPem, format: "pem" });
  assert.ok(certificate.checkPrivateKey(key), "the PFX's key does not belong to the certificate");
  return { key, pfx };
}

/** Awaits a promise that must reject with a RestError of this status; returns the error. */
export async function restError(promise, status, what) {
  let error;
  try {
    await promise;
  } catch (caught) {
    error = caught;
  }
  assert.ok(error, `${what} should have failed with HTTP ${status}`);
  assert.equal(error.statusCode, status, `${what}: ${error.name} ${error.statusCode} ${error.code} ${error.message}`);
  return error;
}

/** Collects an SDK paged iterator. */
export async function all(iterator) {
  const items = [];
  for await (const item of iterator) items.push(item);
  return items;
}
