// @azure/keyvault-certificates (and keyvault-secrets for the managed secret), unmodified, against
// the vault: create with the poller, import of the PFX Key Vault made and of a PEM made by the
// openssl CLI, the exact shape of the secret behind a certificate, versions and lists, soft
// delete with recover and purge, 409 on a soft-deleted name, and api-versions the vault has never
// heard of.

import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { CertificateClient } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";
import { TEST_TIMEOUT_MS } from "./keyward.mjs";
import {
  FIXTURE_PFX_THUMBPRINT,
  POLL,
  VAULT_CLIENT_OPTIONS,
  VAULT_URL,
  adminCertificates,
  adminCredential,
  adminSecrets,
  adminVaultToken,
  all,
  assertCertificateBundle,
  assertPemSecret,
  assertPkcs12Secret,
  describeResponse,
  fixture,
  openssl,
  request,
  restError,
  sha1Hex,
  uniqueName,
  workPath,
} from "./vault.mjs";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

/** `openssl x509 -text` of a DER certificate. */
function x509Text(der) {
  return openssl(["x509", "-inform", "DER", "-noout", "-text"], Buffer.from(der)).toString();
}

/** Imports the Key Vault-made PFX under a new name; returns the name and the certificate. */
async function importFixturePfx(prefix = "kv-pfx") {
  const name = uniqueName(prefix);
  const imported = await adminCertificates.importCertificate(name, fixture("generated-by-key-vault.pfx"));
  return { name, imported };
}

test("beginCreateCertificate: the poller completes with the certificate Key Vault would make", { timeout: TEST_TIMEOUT_MS }, async () => {
  const name = uniqueName("created");
  const before = Math.floor(Date.now() / 1000);
  const poller = await adminCertificates.beginCreateCertificate(name, { issuerName: "Self", subject: "CN=created.example" }, POLL);
  const certificate = await poller.pollUntilDone();
  assert.equal(poller.isDone(), true);
  const state = poller.getOperationState();
  assert.equal(state.isCompleted, true);
  assert.equal(state.error, undefined);

  const { der, x509, version } = assertCertificateBundle(certificate, name);

  // The sparse policy the SDK sent, with Key Vault's defaults filled in.
  const policy = certificate.policy;
  assert.equal(policy.issuerName, "Self");
  assert.equal(policy.subject, "CN=created.example");
  assert.equal(policy.contentType, "application/x-pkcs12");
  assert.equal(policy.keyType, "RSA");
  assert.equal(policy.keySize, 2048);
  assert.equal(policy.exportable, true);
  assert.equal(policy.reuseKey, false);
  assert.equal(policy.validityInMonths, 12);
  assert.deepEqual([...policy.enhancedKeyUsage].sort(), [SERVER_AUTH, CLIENT_AUTH]);
  assert.deepEqual([...policy.keyUsage].sort(), ["digitalSignature", "keyEncipherment"]);
  assert.equal(policy.lifetimeActions.length, 1);
  assert.equal(policy.lifetimeActions[0].action, "AutoRenew");
  assert.equal(policy.lifetimeActions[0].lifetimePercentage, 80);
  assert.equal(policy.lifetimeActions[0].daysBeforeExpiry, undefined);

  // The certificate itself, as the contract's "Generated certificate" says.
  assert.equal(x509.subject, "CN=created.example");
  assert.equal(x509.issuer, "CN=created.example");
  assert.equal(x509.ca, false);
  assert.deepEqual([...x509.keyUsage].sort(), [SERVER_AUTH, CLIENT_AUTH]);
  // 16 random bytes (OpenSSL drops leading zero bytes when printing).
  assert.match(x509.serialNumber, /^[0-9A-F]{28,32}$/, `serial ${x509.serialNumber}`);
  const nbf = Math.floor(new Date(x509.validFrom).getTime() / 1000);
  assert.ok(Math.abs(nbf - (before - 600)) <= 90, `nbf ${x509.validFrom} is not about 10 minutes ago`);
  const text = x509Text(der);
  assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
  assert.match(text, /Public-Key: \(2048 bit\)/);
  assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
  assert.match(text, /X509v3 Basic Constraints: (critical)?\n\s+CA:FALSE\n/);
  assert.match(text, /X509v3 Subject Key Identifier/);
  assert.match(text, /X509v3 Authority Key Identifier/);

  // The pending operation stays readable after completion, naming its target.
  const operation = await request("GET", `${VAULT_URL}/certificates/${name}/pending?api-version=7.5`, { token: await adminVaultToken() });
  assert.equal(operation.status, 200, describeResponse(operation));
  assert.equal(operation.json.status, "completed");
  assert.equal(operation.json.id, `${VAULT_URL}/certificates/${name}/pending`);
  assert.equal(operation.json.target, `${VAULT_URL}/certificates/${name}`);

  // The managed secret: the same name and version, PKCS#12 that opens with an empty password.
  const secret = await adminSecrets.getSecret(name);
  assert.equal(secret.properties.version, version);
  assert.equal(secret.properties.contentType, "application/x-pkcs12");
  assert.equal(secret.properties.managed, true);
  assert.equal(secret.properties.certificateKeyId, `${VAULT_URL}/keys/${name}/${version}`);
  assert.equal(secret.properties.id, `${VAULT_URL}/secrets/${name}/${version}`);
  assertPkcs12Secret(secret.value, der);

  // The same through getCertificateVersion and getCertificatePolicy.
  const byVersion = await adminCertificates.getCertificateVersion(name, version);
  assert.deepEqual(Buffer.from(byVersion.cer), der);
  const fetchedPolicy = await adminCertificates.getCertificatePolicy(name);
  assert.equal(fetchedPolicy.subject, "CN=created.example");
  assert.equal(fetchedPolicy.contentType, "application/x-pkcs12");
});

test("beginCreateCertificate with a PEM policy: the secret is the key then the certificate", { timeout: TEST_TIMEOUT_MS }, async () => {
  const name = uniqueName("created-pem");
  const poller = await adminCertificates.beginCreateCertificate(
    name,
    { issuerName: "Self", subject: "CN=pem.example", contentType: "application/x-pem-file" },
    POLL,
  );
  const certificate = await poller.pollUntilDone();
  const { der } = assertCertificateBundle(certificate, name);
  const secret = await adminSecrets.getSecret(name);
  assert.equal(secret.properties.contentType, "application/x-pem-file");
  assert.equal(secret.properties.managed, true);
  assertPemSecret(secret.value, der);
});

test("importCertificate: the PFX Azure Key Vault made (empty password, 3DES, expired)", { timeout: TEST_TIMEOUT_MS }, async () => {
  const { name, imported } = await importFixturePfx();
  const { der, x509, version } = assertCertificateBundle(imported, name);
  assert.equal(sha1Hex(der), FIXTURE_PFX_THUMBPRINT);
  assert.equal(x509.subject, "CN=MyCert");
  assert.equal(imported.properties.expiresOn.toISOString(), "2023-11-14T17:57:40.000Z");
  assert.equal(imported.policy.contentType, "application/x-pkcs12");

  const fetched = await adminCertificates.getCertificate(name);
  assert.equal(fetched.properties.version, version);
  assert.deepEqual(Buffer.from(fetched.cer), der);

  // The managed secret holds the same key as the file, re-packed with an empty password.
  const secret = await adminSecrets.getSecret(name);
  assert.equal(secret.properties.contentType, "application/x-pkcs12");
  assert.equal(secret.properties.version, version);
  const { key } = assertPkcs12Secret(secret.value, der);
  const original = createPrivateKey(
    openssl(["pkcs12", "-in", workPathOfFixture(), "-passin", "pass:", "-nocerts", "-nodes"]).toString(),
  );
  assert.deepEqual(
    key.export({ type: "pkcs8", format: "der" }),
    original.export({ type: "pkcs8", format: "der" }),
    "the secret's key is not the PFX's key",
  );
});

/** The fixture PFX as a file, for openssl. */
function workPathOfFixture() {
  const path = workPath("generated-by-key-vault.pfx");
  writeFileSync(path, fixture("generated-by-key-vault.pfx"), { mode: 0o600 });
  return path;
}

test("importCertificate: a PEM certificate and key made by the openssl CLI", { timeout: TEST_TIMEOUT_MS }, async () => {
  const keyPath = workPath("openssl.key");
  const certPath = workPath("openssl.crt");
  openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", keyPath]);
  openssl(["req", "-new", "-x509", "-key", keyPath, "-subj", "/CN=openssl-pem", "-days", "30", "-sha256", "-out", certPath]);
  const keyText = readFileSync(keyPath, "utf8");
  const certText = readFileSync(certPath, "utf8");
  const der = Buffer.from(openssl(["x509", "-in", certPath, "-outform", "DER"]));

  const name = uniqueName("openssl-pem");
  const imported = await adminCertificates.importCertificate(name, Buffer.from(keyText + certText), {
    policy: { contentType: "application/x-pem-file" },
  });
  const { version } = assertCertificateBundle(imported, name);
  assert.deepEqual(Buffer.from(imported.cer), der);
  assert.equal(sha1Hex(Buffer.from(imported.cer)), sha1Hex(der));

  const secret = await adminSecrets.getSecret(name);
  assert.equal(secret.properties.contentType, "application/x-pem-file");
  assert.equal(secret.properties.version, version);
  assert.equal(secret.properties.managed, true);
  const { key } = assertPemSecret(secret.value, der);
  assert.deepEqual(
    key.export({ type: "pkcs8", format: "der" }),
    createPrivateKey(keyText).export({ type: "pkcs8", format: "der" }),
    "the secret's key is not openssl's key",
  );
});

test("lists: certificates, their versions, and the managed secrets among the secrets", { timeout: TEST_TIMEOUT_MS }, async () => {
  const { name, imported } = await importFixturePfx("listed");
  const second = await adminCertificates.importCertificate(name, fixture("generated-by-key-vault.pfx"));
  assert.notEqual(second.properties.version, imported.properties.version, "a new import is a new version");

  const certificates = await all(adminCertificates.listPropertiesOfCertificates());
  const mine = certificates.filter((c) => c.name === name);
  assert.equal(mine.length, 1, "a certificate is listed once");
  assert.equal(mine[0].x509ThumbprintString, FIXTURE_PFX_THUMBPRINT.toLowerCase());
  assert.equal(mine[0].vaultUrl, VAULT_URL);

  const versions = await all(adminCertificates.listPropertiesOfCertificateVersions(name));
  assert.deepEqual(versions.map((v) => v.version).sort(), [imported.properties.version, second.properties.version].sort());
  for (const v of versions) assert.equal(v.name, name);

  const latest = await adminCertificates.getCertificate(name);
  assert.equal(latest.properties.version, second.properties.version);

  const secrets = await all(adminSecrets.listPropertiesOfSecrets());
  const managed = secrets.filter((s) => s.name === name);
  assert.equal(managed.length, 1, "the managed secret must appear in the secret list");
  assert.equal(managed[0].managed, true);
  assert.equal(managed[0].contentType, "application/x-pkcs12");
  assert.equal(managed[0].value, undefined);
  const secretVersions = await all(adminSecrets.listPropertiesOfSecretVersions(name));
  assert.deepEqual(secretVersions.map((v) => v.version).sort(), versions.map((v) => v.version).sort());
});

test("soft delete: delete poller, getDeletedCertificate, 409 on the name, recover, purge", { timeout: TEST_TIMEOUT_MS }, async () => {
  const { name, imported } = await importFixturePfx("deleted");
  const secretBefore = await adminSecrets.getSecret(name);

  const deletePoller = await adminCertificates.beginDeleteCertificate(name, POLL);
  const deleted = await deletePoller.pollUntilDone();
  assert.equal(deleted.name, name);
  assert.equal(deleted.recoveryId, `${VAULT_URL}/deletedcertificates/${name}`);
  assert.ok(deleted.deletedOn instanceof Date && Math.abs(deleted.deletedOn.getTime() - Date.now()) < 120_000);
  assert.ok(deleted.scheduledPurgeDate instanceof Date);
  const days = (deleted.scheduledPurgeDate.getTime() - deleted.deletedOn.getTime()) / 86_400_000;
  assert.equal(Math.round(days), 90, "the default retention is 90 days");
  assert.equal(deleted.properties.recoverableDays, 90);

  const notFound = await restError(adminCertificates.getCertificate(name), 404, "getCertificate of a deleted certificate");
  assert.equal(notFound.code, "CertificateNotFound");
  await restError(adminSecrets.getSecret(name), 404, "getSecret of a deleted certificate's secret");

  const fromDeleted = await adminCertificates.getDeletedCertificate(name);
  assert.equal(fromDeleted.recoveryId, deleted.recoveryId);
  assert.equal(fromDeleted.properties.version, imported.properties.version);
  assert.deepEqual(Buffer.from(fromDeleted.cer), Buffer.from(imported.cer));
  const listedDeleted = await all(adminCertificates.listDeletedCertificates());
  assert.ok(listedDeleted.some((c) => c.name === name), "the deleted certificate is not in listDeletedCertificates");
  const deletedSecret = await adminSecrets.getDeletedSecret(name);
  assert.equal(deletedSecret.name, name);

  // A soft-deleted name cannot be reused.
  const conflict = await restError(
    adminCertificates.importCertificate(name, fixture("generated-by-key-vault.pfx")),
    409,
    "importCertificate over a soft-deleted name",
  );
  assert.equal(conflict.code, "Conflict");
  assert.match(JSON.stringify(conflict.details ?? conflict.response?.bodyAsText ?? ""), /ObjectIsDeletedButRecoverable/);
  await restError(
    adminCertificates.beginCreateCertificate(name, { issuerName: "Self", subject: "CN=again" }, POLL).then((p) => p.pollUntilDone()),
    409,
    "beginCreateCertificate over a soft-deleted name",
  );

  // Recover: the same version, the same secret.
  const recoverPoller = await adminCertificates.beginRecoverDeletedCertificate(name, POLL);
  const recovered = await recoverPoller.pollUntilDone();
  assert.equal(recovered.properties.version, imported.properties.version);
  const secretAfter = await adminSecrets.getSecret(name);
  assert.equal(secretAfter.value, secretBefore.value);
  await restError(adminCertificates.getDeletedCertificate(name), 404, "getDeletedCertificate after recovery");

  // Delete again and purge: gone for good, and the name is free.
  await (await adminCertificates.beginDeleteCertificate(name, POLL)).pollUntilDone();
  await adminCertificates.purgeDeletedCertificate(name);
  await restError(adminCertificates.getDeletedCertificate(name), 404, "getDeletedCertificate after purge");
  await restError(adminSecrets.getDeletedSecret(name), 404, "getDeletedSecret after purging the certificate");
  const reused = await adminCertificates.importCertificate(name, fixture("generated-by-key-vault.pfx"));
  assert.notEqual(reused.properties.version, imported.properties.version);
  const versions = await all(adminCertificates.listPropertiesOfCertificateVersions(name));
  assert.equal(versions.length, 1, "a purged certificate's versions are gone");
});

test("unknown api-versions: the SDK's serviceVersion and a raw ?api%2Dversion=2099-01-01", { timeout: TEST_TIMEOUT_MS }, async () => {
  const { name, imported } = await importFixturePfx("api-version");

  const future = { ...VAULT_CLIENT_OPTIONS, serviceVersion: "2099-01-01" };
  const certificates = new CertificateClient(VAULT_URL, adminCredential, future);
  const fetched = await certificates.getCertificate(name);
  assert.equal(fetched.properties.version, imported.properties.version);
  const secrets = new SecretClient(VAULT_URL, adminCredential, future);
  const secret = await secrets.getSecret(name);
  assert.equal(secret.properties.version, imported.properties.version);

  const token = await adminVaultToken();
  for (const query of ["api%2Dversion=2099-01-01", "api-version=2099-01-01", "api-version=7.0", "api-version=2016-10-01"]) {
    const response = await request("GET", `${VAULT_URL}/certificates/${name}/?${query}`, { token });
    assert.equal(response.status, 200, `?${query}: ${describeResponse(response)}`);
    assert.equal(response.json.id, imported.properties.id, `?${query}`);
    assert.equal(response.json.x5t, Buffer.from(imported.properties.x509Thumbprint).toString("base64url"), `?${query}`);
  }
});

test("404s carry Key Vault's error codes", { timeout: TEST_TIMEOUT_MS }, async () => {
  const name = uniqueName("missing");
  const certificate = await restError(adminCertificates.getCertificate(name), 404, "getCertificate of a missing name");
  assert.equal(certificate.code, "CertificateNotFound");
  const secret = await restError(adminSecrets.getSecret(name), 404, "getSecret of a missing name");
  assert.equal(secret.code, "SecretNotFound");
});
