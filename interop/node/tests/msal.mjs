// Shared MSAL Node helpers: build a ConfidentialClientApplication exactly as an app would (no
// custom agent or network client: the CA comes from NODE_EXTRA_CA_CERTS), acquire, and check.

import assert from "node:assert/strict";
import { AUTHORITY, KNOWN_AUTHORITIES, describeError, rejection, verifyAppToken } from "./keyward.mjs";

// MSAL's own log lines, kept for failure messages (warnings and errors only).
const msalLog = [];
const system = {
  loggerOptions: {
    piiLoggingEnabled: false,
    logLevel: 1, // LogLevel.Warning in MSAL Node 3 and 7
    loggerCallback: (_level, message) => msalLog.push(message),
  },
};

/** `credentials` is `{ clientCertificate }` or `{ clientSecret }`; `authority` defaults to /contoso/. */
export function confidentialClient(msal, clientId, credentials, authority = AUTHORITY) {
  return new msal.ConfidentialClientApplication({
    auth: { clientId, authority, knownAuthorities: KNOWN_AUTHORITIES, ...credentials },
    system,
  });
}

/** acquireTokenByClientCredential; a failure carries MSAL's error fields and last log lines. */
export async function acquire(cca, scope) {
  try {
    return await cca.acquireTokenByClientCredential({ scopes: [scope] });
  } catch (error) {
    error.message = `${error.message} [${describeError(error)}] MSAL log: ${msalLog.slice(-5).join(" | ")}`;
    throw error;
  }
}

/** Acquires for `resource`, verifies the token, and checks the same call is then a cache hit. */
export async function acquireAndVerify(cca, { resource, client, azpacr }) {
  const result = await acquire(cca, resource.scope);
  assert.equal(result.fromCache, false);
  assert.equal(result.tokenType, "Bearer");
  await verifyAppToken(result.accessToken, { resource, client, azpacr, expiresAt: result.expiresOn });

  // With a correct expires_in the token is cached: the same call is answered without the server.
  const again = await acquire(cca, resource.scope);
  assert.equal(again.fromCache, true, "MSAL did not cache the token: is expires_in right?");
  assert.equal(again.accessToken, result.accessToken);
  return result;
}

/**
 * Acquisition must fail with MSAL's ServerError carrying `error` and AADSTS`code` (MSAL puts the
 * server's error_description into errorMessage). The exact error is recorded as a diagnostic.
 */
export async function assertServerError(t, cca, scope, { error: errorCode, code }) {
  const error = await rejection(cca.acquireTokenByClientCredential({ scopes: [scope] }), "the token request");
  t.diagnostic(describeError(error));
  assert.equal(error.name, "ServerError", `unexpected error: ${describeError(error)}`);
  assert.equal(error.errorCode, errorCode, `unexpected error: ${describeError(error)}`);
  assert.match(error.errorMessage, new RegExp(`AADSTS${code}: `), `unexpected error: ${describeError(error)}`);
  return error;
}

export const invalidClient = (code) => ({ error: "invalid_client", code });
