// MSAL Node 7 against keyward serve when something is wrong: the server must refuse with Entra's
// error and AADSTS code, which MSAL surfaces as a ServerError (errorCode, errorMessage).

import assert from "node:assert/strict";
import { test } from "node:test";
import * as msal from "@azure/msal-node";
import {
  TEST_TIMEOUT_MS,
  addSecret,
  clientWithCertificate,
  createClient,
  createResource,
  kw,
  newCertificate,
} from "./keyward.mjs";
import { acquire, assertServerError, confidentialClient, invalidClient } from "./msal.mjs";

const resource = createResource();

test("a certificate carried in x5c but not registered is not trusted (AADSTS700027)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const client = clientWithCertificate("msal-x5c-untrusted", resource);
  const stranger = newCertificate("msal-x5c-stranger");
  const cca = confidentialClient(msal, client.appId, {
    clientCertificate: { thumbprint: stranger.thumbprint, privateKey: stranger.key, x5c: stranger.pem },
  });
  await assertServerError(t, cca, resource.scope, invalidClient(700027));
});

test("the registered thumbprint with another key: the signature is checked (AADSTS700027)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const client = clientWithCertificate("msal-wrong-key", resource);
  const stranger = newCertificate("msal-wrong-key-stranger");
  const cca = confidentialClient(msal, client.appId, {
    clientCertificate: { thumbprint: client.certificate.thumbprint, privateKey: stranger.key },
  });
  await assertServerError(t, cca, resource.scope, invalidClient(700027));
});

test("a removed certificate stops working at once, even for an assertion already in use", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const other = createResource();
  const client = clientWithCertificate("msal-removed-reuse", resource, other);
  const { certificate } = client;
  const cca = confidentialClient(msal, client.appId, {
    clientCertificate: { thumbprint: certificate.thumbprint, privateKey: certificate.key },
  });
  await acquire(cca, resource.scope);

  kw("app", "cert", "remove", client.appId, certificate.thumbprint);

  // Same instance, uncached scope: MSAL re-sends the assertion the server accepted a moment ago.
  await assertServerError(t, cca, other.scope, invalidClient(700027));
});

test("a SHA-256 thumbprint given as `thumbprint` (sent as x5t): AADSTS700027 names the mix-up", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const client = clientWithCertificate("msal-sha-mixup", resource);
  const cca = confidentialClient(msal, client.appId, {
    clientCertificate: { thumbprint: client.certificate.thumbprintSha256, privateKey: client.certificate.key },
  });
  const error = await assertServerError(t, cca, resource.scope, invalidClient(700027));
  assert.match(error.errorMessage, new RegExp(client.certificate.thumbprintSha256, "i"), "the error should name the thumbprint sent");
  assert.match(error.errorMessage, /SHA-256/);
});

test("a wrong client secret is refused with invalid_client / AADSTS7000215", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const client = createClient("msal-wrong-secret", resource);
  addSecret(client.appId);
  const cca = confidentialClient(msal, client.appId, { clientSecret: "not-the-secret-0123456789abcdef" });
  await assertServerError(t, cca, resource.scope, invalidClient(7000215));
});

test("an unknown client_id is unauthorized_client / AADSTS700016", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const certificate = newCertificate("msal-unknown-client");
  const cca = confidentialClient(msal, "00000000-1111-2222-3333-444444444444", {
    clientCertificate: { thumbprint: certificate.thumbprint, privateKey: certificate.key },
  });
  await assertServerError(t, cca, resource.scope, { error: "unauthorized_client", code: 700016 });
});

test("a client-credentials scope without /.default is invalid_scope / AADSTS1002012", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const client = clientWithCertificate("msal-bad-scope", resource);
  const cca = confidentialClient(msal, client.appId, {
    clientCertificate: { thumbprint: client.certificate.thumbprint, privateKey: client.certificate.key },
  });
  await assertServerError(t, cca, `${resource.identifierUri}/Tasks.Read.All`, { error: "invalid_scope", code: 1002012 });
});
