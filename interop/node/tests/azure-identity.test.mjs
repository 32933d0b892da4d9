// azure-identity JS, unmodified: ClientCertificateCredential against keyward serve. It signs
// with PS256 and x5t#S256 through MSAL Node, and with sendCertificateChain it sends the PEM as x5c.
// The JS credential takes PEM only (certificate and key in one string or file), not PFX.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { test } from "node:test";
import { ClientCertificateCredential } from "@azure/identity";
import {
  KEYWARD_TENANT,
  KEYWARD_URL,
  TEST_TIMEOUT_MS,
  addCertificate,
  clientWithCertificate,
  createClient,
  createResource,
  describeError,
  discovery,
  kw,
  newCertificate,
  rejection,
  verifyAppToken,
} from "./keyward.mjs";

const resource = createResource();

const options = { authorityHost: KEYWARD_URL, disableInstanceDiscovery: true };

/** The one-file PEM the credential wants: certificate, then private key. */
function pemBundle(certificate) {
  return `${certificate.pem.trimEnd()}\n${certificate.key}`;
}

function writeBundle(certificate) {
  const path = `${certificate.prefix}.bundle.pem`;
  writeFileSync(path, pemBundle(certificate), { mode: 0o600 });
  return path;
}

async function getToken(credential) {
  try {
    return await credential.getToken(resource.scope);
  } catch (error) {
    error.message = `${error.message} [${describeError(error)}]`;
    throw error;
  }
}

async function acquireAndVerify(credential, client) {
  const token = await getToken(credential);
  assert.equal(token.tokenType ?? "Bearer", "Bearer");
  await verifyAppToken(token.token, { resource, client, azpacr: "2", expiresAt: token.expiresOnTimestamp });
  return token;
}

test("ClientCertificateCredential, certificate as a PEM string (cert + key)", { timeout: TEST_TIMEOUT_MS }, async () => {
  const client = clientWithCertificate("identity-string", resource);
  const credential = new ClientCertificateCredential(
    KEYWARD_TENANT,
    client.appId,
    { certificate: pemBundle(client.certificate) },
    options,
  );
  await acquireAndVerify(credential, client);
});

test("ClientCertificateCredential, certificatePath to a PEM file (cert + key)", { timeout: TEST_TIMEOUT_MS }, async () => {
  const client = clientWithCertificate("identity-path", resource);
  const credential = new ClientCertificateCredential(
    KEYWARD_TENANT,
    client.appId,
    { certificatePath: writeBundle(client.certificate) },
    options,
  );
  await acquireAndVerify(credential, client);
});

test("ClientCertificateCredential, certificatePath with sendCertificateChain (x5c)", { timeout: TEST_TIMEOUT_MS }, async () => {
  const client = clientWithCertificate("identity-chain", resource);
  const credential = new ClientCertificateCredential(
    KEYWARD_TENANT,
    client.appId,
    { certificatePath: writeBundle(client.certificate) },
    { ...options, sendCertificateChain: true },
  );
  await acquireAndVerify(credential, client);
});

test("ClientCertificateCredential, encrypted key in the PEM with certificatePassword", { timeout: TEST_TIMEOUT_MS }, async () => {
  const password = "correct horse battery staple";
  const client = createClient("identity-encrypted", resource);
  const certificate = newCertificate("identity-encrypted", { password });
  addCertificate(client.appId, certificate);
  assert.match(certificate.key, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  const credential = new ClientCertificateCredential(
    KEYWARD_TENANT,
    client.appId,
    { certificate: pemBundle(certificate), certificatePassword: password },
    options,
  );
  await acquireAndVerify(credential, client);
});

test("ClientCertificateCredential with the tenant GUID as tenantId", { timeout: TEST_TIMEOUT_MS }, async () => {
  const { tenantId } = await discovery();
  const client = clientWithCertificate("identity-guid", resource);
  const credential = new ClientCertificateCredential(
    tenantId,
    client.appId,
    { certificate: pemBundle(client.certificate) },
    options,
  );
  await acquireAndVerify(credential, client);
});

// azure-identity wraps MSAL's ServerError in an AuthenticationRequiredError (handleMsalError in
// its msal/utils.js), the same as it does for Entra; the server's answer is in `cause`.
test("ClientCertificateCredential after app cert remove: invalid_client / AADSTS700027", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const client = clientWithCertificate("identity-removed", resource);
  kw("app", "cert", "remove", client.appId, client.certificate.thumbprint);
  const credential = new ClientCertificateCredential(
    KEYWARD_TENANT,
    client.appId,
    { certificate: pemBundle(client.certificate) },
    options,
  );
  const error = await rejection(credential.getToken(resource.scope), "getToken");
  t.diagnostic(describeError(error));
  assert.equal(error.name, "AuthenticationRequiredError", describeError(error));
  assert.equal(error.cause?.errorCode, "invalid_client", describeError(error.cause));
  assert.match(error.message, /AADSTS700027/, describeError(error));
});
