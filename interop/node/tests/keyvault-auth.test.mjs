// Who may use the vault: no token, a token that is not valid, a valid token for another audience
// (Microsoft Graph, an app's own API) get 401; a valid vault token of an app without an access
// policy gets 403; and none of these answers tells whether the object exists. Then the SDKs with
// exactly the permissions granted: what is granted works, the rest is 403.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CertificateClient } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";
import { KEYWARD_URL, ROLE, TEST_TIMEOUT_MS, createResource, kw } from "./keyward.mjs";
import {
  TENANT_ID,
  VAULT_CLIENT_OPTIONS,
  VAULT_RESOURCE,
  VAULT_SCOPE,
  VAULT_URL,
  adminCertificates,
  adminGraphToken,
  adminVaultToken,
  appWithCertificate,
  credentialOf,
  describeResponse,
  fixture,
  grantVault,
  request,
  restError,
  uniqueName,
} from "./vault.mjs";

const CHALLENGE = `Bearer authorization="${KEYWARD_URL}/${TENANT_ID}", resource="${VAULT_RESOURCE}"`;
const MISSING_TOKEN_BODY = {
  error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." },
};

// One certificate (which makes a managed secret of the same name) that exists, one name that does not.
const existing = uniqueName("auth-existing");
const missing = uniqueName("auth-missing");
let ready;
function setup() {
  ready ??= adminCertificates.importCertificate(existing, fixture("generated-by-key-vault.pfx"));
  return ready;
}

/** A JWT with its signature's first character changed. */
function tamper(token) {
  const [header, payload, signature] = token.split(".");
  const first = signature[0] === "A" ? "B" : "A";
  return `${header}.${payload}.${first}${signature.slice(1)}`;
}

/** The same claims with `alg: none` and no signature. */
function unsigned(token) {
  const [, payload] = token.split(".");
  return `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${payload}.`;
}

/** GET the latest version of `name` in `collection` (Key Vault's trailing slash). */
function get(collection, name, token) {
  return request("GET", `${VAULT_URL}/${collection}/${name}/?api-version=7.5`, { token });
}

/** The two answers, for the existing object and the missing one, must be the same. */
async function sameForExistingAndMissing(collection, token, status) {
  const a = await get(collection, existing, token);
  const b = await get(collection, missing, token);
  assert.equal(a.status, status, `${collection}/${existing}: ${describeResponse(a)}`);
  assert.equal(b.status, status, `${collection}/${missing}: ${describeResponse(b)}`);
  assert.equal(
    a.text.replaceAll(existing, "NAME"),
    b.text.replaceAll(missing, "NAME"),
    "the body tells whether the object exists",
  );
  assert.equal(a.headers["www-authenticate"], b.headers["www-authenticate"]);
  assert.ok(a.json?.error?.code, `no Key Vault error body: ${a.text}`);
  return a;
}

const refused = [
  ["no token", async () => undefined],
  ["a token that is no JWT", async () => "not-a-token"],
  ["a vault token with a tampered signature", async () => tamper(await adminVaultToken())],
  ["a vault token's claims with alg none", async () => unsigned(await adminVaultToken())],
  ["a Microsoft Graph token of the admin", adminGraphToken],
  [
    "a token for an app's own API",
    async () => {
      const resource = createResource();
      const app = appWithCertificate("other-audience");
      kw("app", "grant", app.appId, resource.appId, ROLE);
      return (await credentialOf(app).getToken(resource.scope)).token;
    },
  ],
];

for (const collection of ["certificates", "secrets"]) {
  describe(`GET /${collection}/{name}/`, () => {
    for (const [label, makeToken] of refused) {
      test(`${label}: 401, whether the object exists or not`, { timeout: TEST_TIMEOUT_MS }, async () => {
        await setup();
        const token = await makeToken();
        const response = await sameForExistingAndMissing(collection, token, 401);
        // Every 401 carries the challenge, so that a client can get the right token.
        assert.equal(response.headers["www-authenticate"], CHALLENGE, describeResponse(response));
        if (token === undefined) assert.deepEqual(response.json, MISSING_TOKEN_BODY);
      });
    }

    test("a valid vault token of an app without an access policy: 403, whether the object exists or not", { timeout: TEST_TIMEOUT_MS }, async () => {
      await setup();
      const app = appWithCertificate("no-policy");
      const token = (await credentialOf(app).getToken(VAULT_SCOPE)).token;
      const response = await sameForExistingAndMissing(collection, token, 403);
      assert.equal(response.json.error.code, "Forbidden", describeResponse(response));
    });
  });
}

test("the challenge: a write with a body and no token gets 401 and the challenge, and nothing is written", { timeout: TEST_TIMEOUT_MS }, async () => {
  const name = uniqueName("unauthenticated-write");
  const response = await request("PUT", `${VAULT_URL}/secrets/${name}?api-version=7.5`, { body: { value: "x" } });
  assert.equal(response.status, 401, describeResponse(response));
  assert.equal(response.headers["www-authenticate"], CHALLENGE);
  assert.deepEqual(response.json, MISSING_TOKEN_BODY);
  const after = await get("secrets", name, await adminVaultToken());
  assert.equal(after.status, 404, describeResponse(after));
});

test("the SDKs with exactly the permissions granted: certificates get only", { timeout: TEST_TIMEOUT_MS }, async () => {
  await setup();
  const app = appWithCertificate("certs-get-only");
  grantVault(app.appId, { certificates: ["get"] });
  const credential = credentialOf(app);
  const certificates = new CertificateClient(VAULT_URL, credential, VAULT_CLIENT_OPTIONS);
  const secrets = new SecretClient(VAULT_URL, credential, VAULT_CLIENT_OPTIONS);

  const certificate = await certificates.getCertificate(existing);
  assert.equal(certificate.name, existing);
  const missingCertificate = await restError(certificates.getCertificate(missing), 404, "getCertificate of a missing name with get");
  assert.equal(missingCertificate.code, "CertificateNotFound");

  const denied = [
    ["getSecret", () => secrets.getSecret(existing)],
    ["setSecret", () => secrets.setSecret(uniqueName("denied"), "x")],
    ["listPropertiesOfCertificates", () => certificates.listPropertiesOfCertificates().next()],
    ["listPropertiesOfSecrets", () => secrets.listPropertiesOfSecrets().next()],
    ["importCertificate", () => certificates.importCertificate(uniqueName("denied"), fixture("generated-by-key-vault.pfx"))],
    ["beginDeleteCertificate", () => certificates.beginDeleteCertificate(existing)],
    ["purgeDeletedCertificate", () => certificates.purgeDeletedCertificate(existing)],
  ];
  for (const [what, call] of denied) {
    const error = await restError(call(), 403, what);
    assert.equal(error.code, "Forbidden", `${what}: ${error.message}`);
  }
  // Nothing the denied calls tried happened.
  const still = await adminCertificates.getCertificate(existing);
  assert.equal(still.properties.version, certificate.properties.version);
});

test("the SDKs with exactly the permissions granted: secrets get and list, no certificates", { timeout: TEST_TIMEOUT_MS }, async () => {
  await setup();
  const app = appWithCertificate("secrets-get-list");
  grantVault(app.appId, { secrets: ["get", "list"] });
  const credential = credentialOf(app);
  const certificates = new CertificateClient(VAULT_URL, credential, VAULT_CLIENT_OPTIONS);
  const secrets = new SecretClient(VAULT_URL, credential, VAULT_CLIENT_OPTIONS);

  const secret = await secrets.getSecret(existing);
  assert.equal(secret.properties.managed, true);
  const first = await secrets.listPropertiesOfSecrets().next();
  assert.equal(first.done, false);
  const error = await restError(certificates.getCertificate(existing), 403, "getCertificate without certificate permissions");
  assert.equal(error.code, "Forbidden");
  await restError(secrets.setSecret(uniqueName("denied"), "x"), 403, "setSecret with get and list");
});
