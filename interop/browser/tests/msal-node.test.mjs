// MSAL Node's authorization code flow, unmodified, in a real browser: a tiny web app built the
// way Microsoft's samples build one (ConfidentialClientApplication with a certificate,
// knownAuthorities, getAuthCodeUrl + acquireTokenByCode with PKCE from CryptoProvider), a user
// who signs up on the authority's hosted page, then MSAL's own refresh-token redemption.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http from "node:http";
import * as msal from "@azure/msal-node";
import {
  AUTHORITY,
  GUID,
  KEYWARD_URL,
  TEST_TIMEOUT_MS,
  discovery,
  freePort,
  launchBrowser,
  newPassword,
  random,
  registerWebApp,
  shot,
  signUp,
  submitAndReturnTo,
} from "./harness.mjs";

let browser;
let server;
let origin;
let registration;
let cca;
/** What the redirect handler got from MSAL, for the test to inspect. */
let signedIn;

const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

before(async () => {
  const port = await freePort();
  origin = `http://localhost:${port}`;
  const redirectUri = `${origin}/redirect`;
  registration = registerWebApp("msal-node-webapp", [redirectUri]);
  cca = new msal.ConfidentialClientApplication({
    auth: {
      clientId: registration.app.appId,
      authority: AUTHORITY,
      knownAuthorities: [new URL(KEYWARD_URL).host],
      clientCertificate: {
        thumbprintSha256: registration.certificate.thumbprintSha256,
        privateKey: readFileSync(registration.certificate.key, "utf8"),
      },
    },
    system: { loggerOptions: { logLevel: msal.LogLevel.Error, loggerCallback: () => {} } },
  });
  const cryptoProvider = new msal.CryptoProvider();
  /** Sign-ins in flight, by state: the PKCE verifier and the nonce (a real app keeps them in its session). */
  const pending = new Map();

  server = http.createServer(async (request, response) => {
    const url = new URL(request.url, origin);
    try {
      if (url.pathname === "/healthz") {
        response.end("ok");
      } else if (url.pathname === "/signup") {
        const { verifier, challenge } = await cryptoProvider.generatePkceCodes();
        const state = cryptoProvider.createNewGuid();
        const nonce = cryptoProvider.createNewGuid();
        pending.set(state, { verifier, nonce });
        const location = await cca.getAuthCodeUrl({
          scopes: [],
          redirectUri,
          codeChallenge: challenge,
          codeChallengeMethod: "S256",
          state,
          nonce,
          prompt: "create",
        });
        response.writeHead(302, { location }).end();
      } else if (url.pathname === "/redirect") {
        const state = url.searchParams.get("state");
        const code = url.searchParams.get("code");
        const flow = pending.get(state);
        pending.delete(state);
        if (!flow || !code) {
          response.writeHead(400).end("unknown state or no code");
          return;
        }
        // MSAL 7 checks the ID token's nonce against the request's, and the state against
        // the one that came back.
        const result = await cca.acquireTokenByCode(
          { code, scopes: [], redirectUri, codeVerifier: flow.verifier, state, nonce: flow.nonce },
          { code, state },
        );
        signedIn = { result, nonce: flow.nonce };
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        response.end(`<!DOCTYPE html><h1 id="done">Signed in as ${escape(result.account.name)}</h1>`);
      } else {
        response.writeHead(404).end();
      }
    } catch (error) {
      signedIn = { error };
      response.writeHead(500, { "content-type": "text/plain" }).end(`MSAL: ${error.errorCode ?? ""} ${error.message}`);
    }
  });
  await new Promise((resolveListen) => server.listen(port, "127.0.0.1", resolveListen));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await new Promise((resolveClose) => (server ? server.close(resolveClose) : resolveClose()));
});

test("MSAL Node: sign up in the browser, acquireTokenByCode with PKCE and a certificate, then a refresh", { timeout: TEST_TIMEOUT_MS }, async () => {
  const { metadata, tenantId } = await discovery();
  const clientId = registration.app.appId;
  const context = await browser.newContext();
  const page = await context.newPage();
  const user = { email: `grace-${random()}@contoso.example`, name: "Grace Hopper", password: newPassword() };

  await page.goto(`${origin}/signup`);
  await signUp(page, user);
  await shot(page, "msal-node-1-sign-up");
  await submitAndReturnTo(page, `${origin}/redirect`);
  await shot(page, "msal-node-2-signed-in");
  assert.ok(!signedIn?.error, `acquireTokenByCode failed: ${signedIn?.error?.errorCode} ${signedIn?.error?.message}`);
  assert.equal(await page.textContent("#done"), `Signed in as ${user.name}`);

  const { result, nonce } = signedIn;
  assert.ok(result.idToken, "an ID token");
  assert.ok(result.accessToken, "an access token");
  const claims = result.idTokenClaims;
  assert.equal(claims.aud, clientId, "aud is the app's client id");
  assert.equal(claims.iss, metadata.issuer, "iss is the tenant's issuer");
  assert.equal(claims.tid, tenantId);
  assert.match(claims.oid, GUID);
  assert.equal(claims.nonce, nonce, "MSAL checked the nonce it was given");
  assert.equal(claims.preferred_username, user.email);
  assert.equal(claims.name, user.name);
  // The account MSAL built from client_info and the ID token.
  assert.equal(result.account.homeAccountId, `${claims.oid}.${tenantId}`);
  assert.equal(result.account.localAccountId, claims.oid);
  assert.equal(result.account.tenantId, tenantId);
  assert.equal(result.account.username, user.email);
  assert.ok(result.expiresOn instanceof Date && result.expiresOn > new Date(), "expiresOn in the future");

  // MSAL's own refresh: the refresh token from its cache, redeemed with the certificate.
  const refreshed = await cca.acquireTokenSilent({ account: result.account, scopes: [], forceRefresh: true });
  assert.equal(refreshed.fromCache, false, "forceRefresh went to the token endpoint");
  assert.notEqual(refreshed.accessToken, result.accessToken, "a new access token");
  assert.equal(refreshed.account.localAccountId, claims.oid);
  if (refreshed.idTokenClaims) {
    assert.equal(refreshed.idTokenClaims.oid, claims.oid);
    assert.equal(refreshed.idTokenClaims.aud, clientId);
  }
  await context.close();
});
