// Code written for Entra ID and Key Vault, unchanged, against `keyward serve --azure-hosts`
// (run by interop/azure-hosts/run.sh inside a network namespace whose hosts file sends
// Microsoft's names to the server). Nothing here names Keyward: no knownAuthorities, no
// disableInstanceDiscovery, no disableChallengeResourceVerification, no authority host.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import * as msal from "@azure/msal-node";
import * as msal3 from "msal-node-v3";
import { ClientCertificateCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { CertificateClient } from "@azure/keyvault-certificates";

const HERE = dirname(fileURLToPath(import.meta.url));
const NODE_MODULES = join(HERE, "..", "node_modules");
const setup = JSON.parse(readFileSync(process.env.SETUP, "utf8"));
const require = createRequire(import.meta.url);

/** The claims of a JWT (not verified: the suites that verify signatures are elsewhere). */
function claims(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
}

function keyPem() {
  const crypto = require("node:crypto");
  return crypto
    .createPrivateKey({ key: readFileSync(setup.keyPath), passphrase: setup.passphrase, format: "pem" })
    .export({ format: "pem", type: "pkcs8" });
}

async function tokenWith(lib, authority) {
  const cca = new lib.ConfidentialClientApplication({
    auth: {
      clientId: setup.clientId,
      authority,
      clientCertificate: { thumbprint: setup.thumbprint, privateKey: keyPem() },
    },
  });
  return cca.acquireTokenByClientCredential({ scopes: [setup.scope] });
}

for (const [name, lib] of [["MSAL Node 7", msal], ["MSAL Node 3", msal3]]) {
  test(`${name}: the article's authority https://TENANT.ciamlogin.com/, nothing else configured`, async () => {
    const result = await tokenWith(lib, `https://${setup.tenant}.ciamlogin.com/`);
    const c = claims(result.accessToken);
    assert.equal(c.tid, setup.tenantId);
    assert.equal(c.iss, `https://${setup.tenant}.ciamlogin.com/${setup.tenantId}/v2.0`);
    assert.deepEqual(c.roles, ["Tasks.Read.All"]);
  });

  test(`${name}: Entra's default authority https://login.microsoftonline.com/TENANT.onmicrosoft.com`, async () => {
    const result = await tokenWith(lib, `https://login.microsoftonline.com/${setup.tenant}.onmicrosoft.com`);
    assert.equal(claims(result.accessToken).iss, `https://login.microsoftonline.com/${setup.tenantId}/v2.0`);
  });

  test(`${name}: the tenant GUID at login.microsoftonline.com`, async () => {
    const result = await tokenWith(lib, `https://login.microsoftonline.com/${setup.tenantId}`);
    assert.equal(claims(result.accessToken).tid, setup.tenantId);
  });
}

/** Runs a CommonJS program with `env` only; resolves to its KEYWARD-RESULT line. */
function runProgram(path, args, env) {
  return new Promise((resolve, reject) => {
    const fullEnv = { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS, NODE_PATH: NODE_MODULES, ...env };
    execFile(process.execPath, [path, ...args], { env: fullEnv, cwd: process.env.HOME, timeout: 60_000 }, (error, stdout, stderr) => {
      const output = `stdout: ${stdout}\nstderr: ${stderr}`;
      if (error) return reject(new Error(`${path} failed:\n${output}`));
      const line = stdout.split("\n").find((l) => l.startsWith("KEYWARD-RESULT "));
      if (!line) return reject(new Error(`${path} printed no result:\n${output}`));
      resolve(JSON.parse(line.slice("KEYWARD-RESULT ".length)));
    });
  });
}

/** The article's authConfig.js with the three values its reader types in, and nothing else. */
function fillIn() {
  const original = readFileSync(join(HERE, "article", "authConfig.js"), "utf8");
  const values = {
    PATH_TO_YOUR_PRIVATE_KEY_FILE: setup.keyPath,
    Add_Passphrase_Here: setup.passphrase,
    YOUR_CERT_THUMBPRINT: setup.thumbprint,
  };
  let filled = original;
  for (const [placeholder, value] of Object.entries(values)) {
    assert.equal(filled.split(placeholder).length, 2, `${placeholder} appears once`);
    filled = filled.replace(placeholder, value);
  }
  const path = join(process.env.HOME, "authConfig.js");
  writeFileSync(path, filled);
  return path;
}

test("the article's authConfig.js: ciamlogin.com authority, encrypted key, thumbprint", async () => {
  const config = fillIn();
  const result = await runProgram(join(HERE, "article", "use-auth-config.cjs"), [config], {
    TENANT_SUBDOMAIN: setup.tenant,
    CLIENT_ID: setup.clientId,
    SCOPE: setup.scope,
  });
  const c = claims(result.accessToken);
  assert.equal(c.azp, setup.clientId);
  assert.equal(c.iss, `https://${setup.tenant}.ciamlogin.com/${setup.tenantId}/v2.0`);
});

test("the article's getKeyAndThumbprint: DefaultAzureCredential, KEY_VAULT_URL at vault.azure.net", async () => {
  const result = await runProgram(join(HERE, "article", "get-key-and-thumbprint.cjs"), [], {
    KEY_VAULT_URL: setup.vaultUrl,
    CERTIFICATE_NAME: setup.vaultCertificate,
    TENANT_SUBDOMAIN: setup.tenant,
    CLIENT_ID: setup.clientId,
    SCOPE: setup.scope,
    AZURE_TENANT_ID: setup.tenantId,
    AZURE_CLIENT_ID: setup.reader.clientId,
    AZURE_CLIENT_CERTIFICATE_PATH: setup.reader.bundlePath,
  });
  assert.match(result.thumbprint, /^[0-9a-f]{40}$/);
  assert.equal(claims(result.accessToken).azp, setup.clientId);
});

test("azure-identity and the Key Vault SDKs with default options: challenge, token, secret", async () => {
  const credential = new ClientCertificateCredential(setup.tenantId, setup.reader.clientId, setup.reader.bundlePath);
  const secrets = new SecretClient(setup.vaultUrl, credential);
  const secret = await secrets.getSecret(setup.vaultCertificate);
  assert.match(secret.value, /-----BEGIN PRIVATE KEY-----/);
  const certificates = new CertificateClient(setup.vaultUrl, credential);
  const certificate = await certificates.getCertificate(setup.vaultCertificate);
  assert.equal(certificate.name, setup.vaultCertificate);
  const token = await credential.getToken("https://vault.azure.net/.default");
  assert.equal(claims(token.token).iss, `https://login.microsoftonline.com/${setup.tenantId}/v2.0`);
});

const MI = setup.managedIdentityEnv;
const miProgram = join(HERE, "article", "managed-identity.cjs");
const miBase = { VAULT_URL: setup.vaultUrl, SECRET_NAME: setup.vaultCertificate };

test("DefaultAzureCredential through App Service's managed identity (IDENTITY_ENDPOINT, IDENTITY_HEADER)", async () => {
  const result = await runProgram(miProgram, [], {
    ...miBase,
    MODE: "default",
    IDENTITY_ENDPOINT: MI.IDENTITY_ENDPOINT,
    IDENTITY_HEADER: MI.IDENTITY_HEADER,
  });
  assert.deepEqual(result, { azp: setup.reader.clientId, hasKey: true });
});

test("ManagedIdentityCredential through IMDS (AZURE_POD_IDENTITY_AUTHORITY_HOST)", async () => {
  const result = await runProgram(miProgram, [], {
    ...miBase,
    MODE: "managed",
    AZURE_POD_IDENTITY_AUTHORITY_HOST: MI.AZURE_POD_IDENTITY_AUTHORITY_HOST,
  });
  assert.deepEqual(result, { azp: setup.reader.clientId, hasKey: true });
});

test("ManagedIdentityCredential with a wrong IDENTITY_HEADER gets nothing", async () => {
  await assert.rejects(
    runProgram(miProgram, [], {
      ...miBase,
      MODE: "managed",
      IDENTITY_ENDPOINT: MI.IDENTITY_ENDPOINT,
      IDENTITY_HEADER: "0".repeat(64),
    }),
    /failed/,
  );
});
