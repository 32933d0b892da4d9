// MSAL Node 7 (latest) and MSAL Node 3, unmodified, against keyward serve: the client
// credentials flow with every certificate form MSAL supports, a client secret, assertion reuse
// across scopes, and a removed certificate.

import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { describe, test } from "node:test";
import * as msal7 from "@azure/msal-node";
import * as msal3 from "msal-node-v3";
import {
  TEST_TIMEOUT_MS,
  addCertificate,
  addSecret,
  cachedAssertionHeader,
  clientWithCertificate,
  createClient,
  createResource,
  hexToBase64Url,
  kw,
  newCertificate,
  verifyAppToken,
} from "./keyward.mjs";
import { acquire, acquireAndVerify, assertServerError, confidentialClient, invalidClient } from "./msal.mjs";

const resource = createResource();

const versions = [
  ["MSAL Node 7", msal7, 7],
  ["MSAL Node 3", msal3, 3],
];

for (const [label, msal, major] of versions) {
  describe(label, () => {
    test(`is really major version ${major}`, () => {
      assert.equal(Number(msal.version.split(".")[0]), major, `loaded ${msal.version}`);
    });

    test("certificate, SHA-1 thumbprint: RS256 assertion with x5t", { timeout: TEST_TIMEOUT_MS }, async () => {
      const client = clientWithCertificate("msal-sha1", resource);
      const { certificate } = client;
      const cca = confidentialClient(msal, client.appId, {
        clientCertificate: { thumbprint: certificate.thumbprint, privateKey: certificate.key },
      });
      await acquireAndVerify(cca, { resource, client, azpacr: "2" });

      const { header } = cachedAssertionHeader(cca);
      assert.equal(header.alg, "RS256");
      assert.equal(header.x5t, hexToBase64Url(certificate.thumbprint));
      assert.equal(header.x5t, certificate.x5t);
      assert.equal(header["x5t#S256"], undefined);
      assert.equal(header.x5c, undefined);
    });

    test("certificate, SHA-256 thumbprint: PS256 assertion with x5t#S256", { timeout: TEST_TIMEOUT_MS }, async () => {
      const client = clientWithCertificate("msal-sha256", resource);
      const { certificate } = client;
      const cca = confidentialClient(msal, client.appId, {
        clientCertificate: { thumbprintSha256: certificate.thumbprintSha256, privateKey: certificate.key },
      });
      await acquireAndVerify(cca, { resource, client, azpacr: "2" });

      const { header } = cachedAssertionHeader(cca);
      assert.equal(header.alg, "PS256");
      assert.equal(header["x5t#S256"], certificate["x5t#S256"]);
      assert.equal(header.x5t, undefined);
    });

    test("certificate with x5c (the PEM certificate sent in the header)", { timeout: TEST_TIMEOUT_MS }, async () => {
      const client = clientWithCertificate("msal-x5c", resource);
      const { certificate } = client;
      const cca = confidentialClient(msal, client.appId, {
        clientCertificate: {
          thumbprint: certificate.thumbprint,
          privateKey: certificate.key,
          x5c: certificate.pem,
        },
      });
      await acquireAndVerify(cca, { resource, client, azpacr: "2" });

      const { header } = cachedAssertionHeader(cca);
      assert.equal(header.alg, "RS256");
      assert.equal(header.x5t, certificate.x5t);
      const der = certificate.pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, "");
      assert.deepEqual(header.x5c, [der]);
    });

    test("second scope on the same instance re-sends the same assertion and is accepted", { timeout: TEST_TIMEOUT_MS }, async () => {
      const other = createResource();
      const client = clientWithCertificate("msal-two-scopes", resource, other);
      const { certificate } = client;
      const cca = confidentialClient(msal, client.appId, {
        clientCertificate: { thumbprintSha256: certificate.thumbprintSha256, privateKey: certificate.key },
      });

      const first = await acquire(cca, resource.scope);
      await verifyAppToken(first.accessToken, { resource, client, azpacr: "2", expiresAt: first.expiresOn });
      const firstAssertion = cachedAssertionHeader(cca).jwt;

      const second = await acquire(cca, other.scope);
      assert.equal(second.fromCache, false);
      await verifyAppToken(second.accessToken, { resource: other, client, azpacr: "2", expiresAt: second.expiresOn });
      assert.equal(cachedAssertionHeader(cca).jwt, firstAssertion, "MSAL should have re-sent the same assertion (same jti)");
    });

    test("client secret", { timeout: TEST_TIMEOUT_MS }, async () => {
      const client = createClient("msal-secret", resource);
      const clientSecret = addSecret(client.appId);
      const cca = confidentialClient(msal, client.appId, { clientSecret });
      await acquireAndVerify(cca, { resource, client, azpacr: "1" });
    });

    test("after app cert remove, a new instance is refused with invalid_client / AADSTS700027", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const client = clientWithCertificate("msal-removed", resource);
      const { certificate } = client;
      const clientCertificate = { thumbprint: certificate.thumbprint, privateKey: certificate.key };
      const before = confidentialClient(msal, client.appId, { clientCertificate });
      const result = await acquire(before, resource.scope);
      await verifyAppToken(result.accessToken, { resource, client, azpacr: "2" });

      kw("app", "cert", "remove", client.appId, certificate.thumbprint);

      const after = confidentialClient(msal, client.appId, { clientCertificate });
      await assertServerError(t, after, resource.scope, invalidClient(700027));
    });
  });
}


test("MSAL Node 7, the article's encrypted key: decrypted with crypto.createPrivateKey, then used", { timeout: TEST_TIMEOUT_MS }, async () => {
  const passphrase = "correct horse battery staple";
  const client = createClient("msal-encrypted", resource);
  const certificate = newCertificate("msal-encrypted", { password: passphrase });
  addCertificate(client.appId, certificate);

  assert.equal(certificate.encrypted, true);
  assert.match(certificate.key, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  assert.throws(() => createPrivateKey({ key: certificate.key, format: "pem" }), "the key should need its passphrase");

  // As the article's authConfig.js does it.
  const privateKeyObject = createPrivateKey({ key: certificate.key, passphrase, format: "pem" });
  const privateKey = privateKeyObject.export({ format: "pem", type: "pkcs8" });
  const cca = confidentialClient(msal7, client.appId, {
    clientCertificate: { thumbprint: certificate.thumbprint, privateKey },
  });
  await acquireAndVerify(cca, { resource, client, azpacr: "2" });
});
