// The article's flow end to end: a certificate made in the vault with a PEM policy, its public
// part uploaded to the app registration, then the article's own code (tests/article/, run as its
// own process with DefaultAzureCredential from the environment) reads the thumbprint and the
// private key from the vault and MSAL Node gets a token with them from the authority.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import * as msal from "@azure/msal-node";
import {
  AUTHORITY,
  KEYWARD_URL,
  KNOWN_AUTHORITIES,
  TEST_TIMEOUT_MS,
  cachedAssertionHeader,
  createClient,
  createResource,
  hexToBase64Url,
  kw,
  verifyAppToken,
} from "./keyward.mjs";
import {
  POLL,
  TENANT_ID,
  VAULT_CLIENT_OPTIONS,
  VAULT_URL,
  adminCertificates,
  appWithCertificate,
  assertCertificateBundle,
  assertPemSecret,
  credentialOf,
  grantVault,
  sha1Hex,
  sha256Hex,
  uniqueName,
  workPath,
} from "./vault.mjs";
import { CertificateClient } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";

const HERE = dirname(fileURLToPath(import.meta.url));
const ARTICLE = join(HERE, "article", "get-key-and-thumbprint.cjs");

const resource = createResource();

/**
 * The app of the article (`ciam-client-app`), its certificate made in the vault with
 * `beginCreateCertificate` (PEM content type, the article's subject), and the public part
 * (`cer`) uploaded with `keyward app cert add`.
 */
async function articleSetup() {
  const client = createClient("ciam-client-app", resource);
  const name = uniqueName("ciam-client-app");
  const poller = await adminCertificates.beginCreateCertificate(
    name,
    { issuerName: "Self", subject: "CN=ciam-client-app", contentType: "application/x-pem-file" },
    POLL,
  );
  const created = await poller.pollUntilDone();
  const { der, x509 } = assertCertificateBundle(created, name);
  assert.equal(x509.subject, "CN=ciam-client-app");
  assert.equal(created.policy.contentType, "application/x-pem-file");

  const cerPath = workPath(`${name}.cer`);
  writeFileSync(cerPath, der);
  const credential = kw("app", "cert", "add", client.appId, cerPath);
  assert.equal(credential.customKeyIdentifier, sha1Hex(der), "the portal's Thumbprint is the vault's x5t");

  // The identity the article's code runs as (DefaultAzureCredential), allowed to read the
  // certificate and its secret and nothing else.
  const reader = appWithCertificate("vault-reader");
  grantVault(reader.appId, { certificates: ["get"], secrets: ["get"] });
  return { client, name, der, reader };
}

/** Runs the article's program; resolves to its printed result (rejects with its output). */
function runArticle(env) {
  return new Promise((resolveRun, reject) => {
    execFile(process.execPath, [ARTICLE], { cwd: HERE, env, timeout: 45_000 }, (error, stdout, stderr) => {
      const output = `stdout: ${stdout}\nstderr: ${stderr}`;
      if (error) {
        reject(new Error(`the article's code failed (${error.code ?? error.signal}):\n${output}`));
        return;
      }
      const line = stdout.split("\n").find((l) => l.startsWith("KEYWARD-RESULT "));
      if (!line) {
        reject(new Error(`the article's code printed no result:\n${output}`));
        return;
      }
      resolveRun({ result: JSON.parse(line.slice("KEYWARD-RESULT ".length)), output });
    });
  });
}

test("the article's getKeyAndThumbprint with DefaultAzureCredential, then MSAL Node gets a token", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { client, name, der, reader } = await articleSetup();

  // What a user sets: the credential from the environment (AZURE_*), the article's variables.
  const env = {
    PATH: process.env.PATH,
    NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS,
    TMPDIR: process.env.TMPDIR,
    AZURE_TENANT_ID: TENANT_ID,
    AZURE_CLIENT_ID: reader.appId,
    AZURE_CLIENT_CERTIFICATE_PATH: reader.bundlePath,
    AZURE_AUTHORITY_HOST: KEYWARD_URL,
    KEY_VAULT_URL: VAULT_URL,
    CERTIFICATE_NAME: name,
    CLIENT_ID: client.appId,
    AUTHORITY,
    KNOWN_AUTHORITY: KNOWN_AUTHORITIES[0],
    SCOPE: resource.scope,
  };
  const { result, output } = await runArticle(env);
  t.diagnostic(output.split("\n").filter((l) => !l.includes("KEYWARD-RESULT")).join(" ").slice(0, 500));

  // `x509Thumbprint.toString('hex')`: a Buffer in Node, so lowercase hex of the SHA-1.
  assert.equal(result.thumbprint, sha1Hex(der).toLowerCase());
  // `value.split('-----BEGIN CERTIFICATE-----\n')[0]`: exactly the PKCS#8 key block.
  assert.match(result.privateKey, /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
  await verifyAppToken(result.accessToken, { resource, client, azpacr: "2", expiresAt: result.expiresOn });
});

test("the vault's key and SHA-256 thumbprint: MSAL Node thumbprintSha256 (PS256, x5t#S256)", { timeout: TEST_TIMEOUT_MS }, async () => {
  const { client, name, der, reader } = await articleSetup();
  const credential = credentialOf(reader);
  const certClient = new CertificateClient(VAULT_URL, credential, VAULT_CLIENT_OPTIONS);
  const secretClient = new SecretClient(VAULT_URL, credential, VAULT_CLIENT_OPTIONS);

  const certificate = await certClient.getCertificate(name);
  const secret = await secretClient.getSecret(name);
  assert.equal(secret.properties.contentType, "application/x-pem-file");
  assert.equal(secret.properties.managed, true);
  assert.equal(secret.properties.certificateKeyId, certificate.keyId);
  assert.equal(secret.properties.version, certificate.properties.version);
  const { keyPem } = assertPemSecret(secret.value, der);
  assert.equal(keyPem, secret.value.split("-----BEGIN CERTIFICATE-----\n")[0]);

  const thumbprintSha256 = sha256Hex(Buffer.from(certificate.cer));
  const cca = new msal.ConfidentialClientApplication({
    auth: {
      clientId: client.appId,
      authority: AUTHORITY,
      knownAuthorities: KNOWN_AUTHORITIES,
      clientCertificate: { thumbprintSha256, privateKey: keyPem },
    },
  });
  const token = await cca.acquireTokenByClientCredential({ scopes: [resource.scope] });
  await verifyAppToken(token.accessToken, { resource, client, azpacr: "2", expiresAt: token.expiresOn });
  const { header } = cachedAssertionHeader(cca);
  assert.equal(header.alg, "PS256");
  assert.equal(header["x5t#S256"], hexToBase64Url(thumbprintSha256));
});
