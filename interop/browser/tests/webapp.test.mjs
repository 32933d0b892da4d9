// The article's sample web app (the real `webapp` binary, configured by a .env file as
// authConfig.js is) in a real browser: sign up on the authority's hosted page, land on the
// claims page, sign out, sign in again, and see the app renew its tokens with the refresh token;
// the app authenticates to the token endpoint with its certificate all along.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  AUTHORITY,
  GUID,
  KEYWARD_DATA,
  KEYWARD_URL,
  TEST_TIMEOUT_MS,
  WEBAPP_BIN,
  WORK,
  discovery,
  freePort,
  launchBrowser,
  newPassword,
  random,
  registerWebApp,
  shot,
  signIn,
  signUp,
  startHttpProcess,
  submitAndReturnTo,
} from "./harness.mjs";

let browser;
let webapp;
let origin;
let registration;

before(async () => {
  const port = await freePort();
  origin = `http://localhost:${port}`;
  registration = registerWebApp("ciam-client-app", [`${origin}/auth/redirect`, origin], {
    password: `pass ${random()}`,
  });
  const { app, certificate } = registration;
  // The article's settings, from a .env file as `require('dotenv').config()` reads them.
  const dotenv = [
    "# written by webapp.test.mjs",
    `CLIENT_ID=${app.appId}`,
    `AUTHORITY=${AUTHORITY}`,
    `REDIRECT_URI=${origin}/auth/redirect`,
    `POST_LOGOUT_REDIRECT_URI=${origin}`,
    `CERTIFICATE_PATH=${certificate.pem}`,
    `PRIVATE_KEY_PATH=${certificate.key}`,
    `PRIVATE_KEY_PASSPHRASE="${certificate.password}"`,
    `CERTIFICATE_THUMBPRINT=${certificate.thumbprint}`,
    `KEYWARD_CA=${join(KEYWARD_DATA, "tls", "ca.pem")}`,
    `PORT=${port}`,
  ].join("\n");
  const cwd = join(WORK, "webapp");
  mkdirSync(cwd);
  writeFileSync(join(cwd, ".env"), `${dotenv}\n`, { mode: 0o600 });
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };
  webapp = await startHttpProcess(WEBAPP_BIN, [], { env, cwd, port });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (webapp) {
    const { code } = await webapp.stop();
    assert.equal(code, 0, `the web app should exit cleanly on SIGTERM:\n${webapp.output()}`);
  }
});

/** The claims table of the page, as { claim: text }. */
async function claimsOf(page) {
  return page.$$eval("#claims tbody tr", (rows) =>
    Object.fromEntries(rows.map((row) => [row.dataset.claim, row.querySelector("td.value").textContent])),
  );
}

test("sign up, claims, sign out, sign in again, tokens renewed with the refresh token", { timeout: TEST_TIMEOUT_MS }, async () => {
  const { metadata, tenantId } = await discovery();
  const clientId = registration.app.appId;
  const context = await browser.newContext();
  const page = await context.newPage();
  const user = {
    email: `ada-${random()}@contoso.example`,
    name: `Ada <b>Lovelace</b> & "Co"`,
    password: newPassword(),
  };

  // Home, signed out: Sign in and Sign up.
  await page.goto(origin);
  assert.ok(await page.isVisible("#sign-in"));
  assert.ok(await page.isVisible("#sign-up"));
  await shot(page, "webapp-1-home");

  // Sign up on the authority's hosted page; back on the claims page.
  await page.click("#sign-up");
  await signUp(page, user);
  await shot(page, "webapp-2-sign-up");
  await submitAndReturnTo(page, `${origin}/users/id`);
  await shot(page, "webapp-3-claims");
  // The name is shown as text: the markup in it was escaped, not rendered.
  assert.equal(await page.textContent("#user-name"), user.name);
  assert.equal(await page.locator("#user-name b").count(), 0);
  const claims = await claimsOf(page);
  assert.equal(claims.aud, clientId, "aud is the app's client id");
  assert.equal(claims.iss, metadata.issuer, "iss is the tenant's issuer");
  assert.equal(claims.tid, tenantId);
  assert.match(claims.oid, GUID, "oid is the user's object id");
  assert.equal(claims.name, user.name);
  assert.equal(claims.preferred_username, user.email);
  assert.ok(claims.nonce, "the ID token carries the app's nonce");
  const oid = claims.oid;

  // The session cookie is the app's, HttpOnly and SameSite=Lax.
  const cookie = (await context.cookies(origin)).find((c) => c.name === "webapp_session");
  assert.ok(cookie, "a session cookie");
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, "Lax");

  // Home greets the user.
  await page.goto(origin);
  assert.equal(await page.textContent("#welcome"), `Welcome, ${user.name}`);

  // Sign out: the app's session ends, then the authority's, which sends the browser home.
  await Promise.all([page.waitForURL((u) => u.href.replace(/\/$/, "") === origin), page.click("#sign-out")]);
  await shot(page, "webapp-4-signed-out");
  assert.ok(await page.isVisible("#sign-in"), "signed out, the home page offers Sign in again");
  const response = await page.goto(`${origin}/users/id`);
  assert.ok(page.url().startsWith(KEYWARD_URL), "the claims page needs a session: it sends the browser to sign in");
  assert.ok(response.ok());

  // Sign in again (the authority asks: its session ended at sign-out too): the same user.
  await signIn(page, user);
  await shot(page, "webapp-5-sign-in");
  await submitAndReturnTo(page, `${origin}/users/id`);
  const again = await claimsOf(page);
  assert.equal(again.oid, oid, "the same user signed in again");
  assert.equal(again.aud, clientId);
  assert.equal(await page.textContent("#renewals"), "0");

  // Renewal: once the access token has expired, the next page view redeems the refresh token.
  const expires = Date.parse(await page.textContent("#access-expires"));
  assert.ok(expires - Date.now() < 60_000, "run.mjs starts the server with short-lived access tokens");
  await sleep(Math.max(0, expires - Date.now()) + 1_500);
  await page.reload();
  assert.equal(await page.textContent("#renewals"), "1", "the expired access token was renewed with the refresh token");
  assert.ok(Date.parse(await page.textContent("#access-expires")) > expires, "the renewed access token expires later");
  const renewed = await claimsOf(page);
  assert.equal(renewed.oid, oid);
  assert.equal(renewed.aud, clientId);
  // And on demand.
  await Promise.all([page.waitForURL(`${origin}/users/id`), page.click("#renew")]);
  assert.equal(await page.textContent("#renewals"), "2");
  await shot(page, "webapp-6-renewed");

  await context.close();
});

test("the sign-in request: code flow with PKCE, state and nonce; forged and failed redirects are refused", { timeout: TEST_TIMEOUT_MS }, async () => {
  const { metadata } = await discovery();
  const context = await browser.newContext();
  const page = await context.newPage();
  const forged = await page.goto(`${origin}/auth/redirect?code=forged&state=forged`);
  assert.equal(forged.status(), 400);
  assert.match(await page.textContent("#error"), /not started in this browser/);

  // The request the app sends the browser with (the context's cookies are shared with the page).
  const start = await context.request.get(`${origin}/auth/signin`, { maxRedirects: 0 });
  assert.equal(start.status(), 303);
  const authorize = new URL(start.headers().location);
  assert.equal(`${authorize.origin}${authorize.pathname}`, metadata.authorization_endpoint);
  const query = Object.fromEntries(authorize.searchParams);
  assert.equal(query.client_id, registration.app.appId);
  assert.equal(query.response_type, "code");
  assert.equal(query.redirect_uri, `${origin}/auth/redirect`);
  assert.equal(query.code_challenge_method, "S256");
  assert.match(query.code_challenge, /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(query.scope.split(" ").sort(), ["offline_access", "openid", "profile"]);
  assert.ok(query.state && query.nonce && query.state !== query.nonce);

  // An error the authority sends back for that request is shown, escaped.
  const failed = await page.goto(
    `${origin}/auth/redirect?state=${encodeURIComponent(query.state)}&error=access_denied&error_description=${encodeURIComponent("<i>no</i>")}`,
  );
  assert.equal(failed.status(), 400);
  assert.equal(await page.textContent("#error"), "<i>no</i>");
  assert.equal(await page.textContent("#error-code"), "access_denied");
  await shot(page, "webapp-7-error");
  // A state is good for one answer only.
  const replay = await page.goto(`${origin}/auth/redirect?state=${encodeURIComponent(query.state)}&code=x`);
  assert.equal(replay.status(), 400);
  await context.close();
});
