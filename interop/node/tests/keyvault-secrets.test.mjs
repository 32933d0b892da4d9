// @azure/keyvault-secrets, unmodified, against the vault: set, get (latest and by version),
// versions, list, update properties, soft delete with recover and purge, 409 on a soft-deleted
// name.

import assert from "node:assert/strict";
import { test } from "node:test";
import { TEST_TIMEOUT_MS } from "./keyward.mjs";
import { POLL, VAULT_URL, adminSecrets, all, restError, uniqueName } from "./vault.mjs";

const VERSION = /^[0-9a-f]{32}$/;

test("setSecret, getSecret (latest and by version), versions, list, updateSecretProperties", { timeout: TEST_TIMEOUT_MS }, async () => {
  const name = uniqueName("secret");
  const first = await adminSecrets.setSecret(name, "first value", { contentType: "text/plain", tags: { env: "test" } });
  assert.equal(first.name, name);
  assert.equal(first.value, "first value");
  assert.match(first.properties.version, VERSION);
  assert.equal(first.properties.id, `${VAULT_URL}/secrets/${name}/${first.properties.version}`);
  assert.equal(first.properties.vaultUrl, VAULT_URL);
  assert.equal(first.properties.contentType, "text/plain");
  assert.deepEqual(first.properties.tags, { env: "test" });
  assert.equal(first.properties.enabled, true);
  assert.ok(first.properties.managed === undefined || first.properties.managed === false, "a plain secret is not managed");
  assert.equal(first.properties.certificateKeyId, undefined);
  assert.equal(first.properties.recoveryLevel, "Recoverable+Purgeable");
  assert.equal(first.properties.recoverableDays, 90);

  // Any text survives exactly: newlines, non-ASCII, JSON-looking text.
  const tricky = 'line one\nline "two"\t✓ é 𝄞 {"not":"json"}\r\n';
  const second = await adminSecrets.setSecret(name, tricky);
  assert.notEqual(second.properties.version, first.properties.version);
  assert.equal(second.value, tricky);

  const latest = await adminSecrets.getSecret(name);
  assert.equal(latest.value, tricky);
  assert.equal(latest.properties.version, second.properties.version);
  const older = await adminSecrets.getSecret(name, { version: first.properties.version });
  assert.equal(older.value, "first value");
  assert.equal(older.properties.contentType, "text/plain");

  const versions = await all(adminSecrets.listPropertiesOfSecretVersions(name));
  assert.deepEqual(versions.map((v) => v.version).sort(), [first.properties.version, second.properties.version].sort());
  for (const v of versions) {
    assert.equal(v.name, name);
    assert.equal(v.value, undefined, "a version list carries no values");
  }

  const listed = (await all(adminSecrets.listPropertiesOfSecrets())).filter((s) => s.name === name);
  assert.equal(listed.length, 1, "a secret is listed once");
  assert.equal(listed[0].value, undefined, "a secret list carries no values");

  const updated = await adminSecrets.updateSecretProperties(name, first.properties.version, {
    enabled: false,
    contentType: "application/json",
    tags: { env: "prod", owner: "interop" },
  });
  assert.equal(updated.version, first.properties.version);
  assert.equal(updated.enabled, false);
  assert.equal(updated.contentType, "application/json");
  assert.deepEqual(updated.tags, { env: "prod", owner: "interop" });
  const afterUpdate = await all(adminSecrets.listPropertiesOfSecretVersions(name));
  const firstAfter = afterUpdate.find((v) => v.version === first.properties.version);
  assert.equal(firstAfter.enabled, false);
  assert.deepEqual(firstAfter.tags, { env: "prod", owner: "interop" });
  // The latest version is untouched.
  const latestAgain = await adminSecrets.getSecret(name);
  assert.equal(latestAgain.properties.enabled, true);
  assert.equal(latestAgain.value, tricky);
});

test("secret soft delete: delete poller, getDeletedSecret, 409 on the name, recover, purge", { timeout: TEST_TIMEOUT_MS }, async () => {
  const name = uniqueName("deleted-secret");
  const set = await adminSecrets.setSecret(name, "keep me");

  const deleted = await (await adminSecrets.beginDeleteSecret(name, POLL)).pollUntilDone();
  assert.equal(deleted.name, name);
  assert.equal(deleted.properties.recoveryId, `${VAULT_URL}/deletedsecrets/${name}`);
  assert.ok(deleted.properties.deletedOn instanceof Date);
  assert.ok(deleted.properties.scheduledPurgeDate instanceof Date);
  const days = (deleted.properties.scheduledPurgeDate - deleted.properties.deletedOn) / 86_400_000;
  assert.equal(Math.round(days), 90);

  const missing = await restError(adminSecrets.getSecret(name), 404, "getSecret of a deleted secret");
  assert.equal(missing.code, "SecretNotFound");
  const fromDeleted = await adminSecrets.getDeletedSecret(name);
  assert.equal(fromDeleted.properties.version, set.properties.version);
  const listedDeleted = await all(adminSecrets.listDeletedSecrets());
  assert.ok(listedDeleted.some((s) => s.name === name), "the deleted secret is not in listDeletedSecrets");

  const conflict = await restError(adminSecrets.setSecret(name, "reuse"), 409, "setSecret over a soft-deleted name");
  assert.equal(conflict.code, "Conflict");

  const recovered = await (await adminSecrets.beginRecoverDeletedSecret(name, POLL)).pollUntilDone();
  assert.equal(recovered.version, set.properties.version);
  assert.equal((await adminSecrets.getSecret(name)).value, "keep me");

  await (await adminSecrets.beginDeleteSecret(name, POLL)).pollUntilDone();
  await adminSecrets.purgeDeletedSecret(name);
  await restError(adminSecrets.getDeletedSecret(name), 404, "getDeletedSecret after purge");
  const again = await adminSecrets.setSecret(name, "new life");
  assert.notEqual(again.properties.version, set.properties.version);
  const versions = await all(adminSecrets.listPropertiesOfSecretVersions(name));
  assert.deepEqual(versions.map((v) => v.version), [again.properties.version], "a purged secret's versions are gone");
});
