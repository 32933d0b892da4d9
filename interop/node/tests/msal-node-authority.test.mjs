// MSAL Node 7 configured with each alias of the tenant in its authority. MSAL puts the configured
// tenant segment into the token endpoint, hence into the assertion's aud; the server must accept
// every alias and issue the same tenant's tokens.

import { test } from "node:test";
import * as msal from "@azure/msal-node";
import { KEYWARD_TENANT, KEYWARD_URL, TEST_TIMEOUT_MS, clientWithCertificate, createResource, discovery } from "./keyward.mjs";
import { acquireAndVerify, confidentialClient } from "./msal.mjs";

const resource = createResource();
const { tenantId } = await discovery();

const aliases = [
  ["the tenant GUID", tenantId],
  ["NAME.onmicrosoft.com", `${KEYWARD_TENANT}.onmicrosoft.com`],
];

for (const [label, alias] of aliases) {
  for (const [kind, credential] of [
    ["thumbprint (RS256)", (c) => ({ thumbprint: c.thumbprint, privateKey: c.key })],
    ["thumbprintSha256 (PS256)", (c) => ({ thumbprintSha256: c.thumbprintSha256, privateKey: c.key })],
  ]) {
    test(`authority ${KEYWARD_URL}/{${label}}/, ${kind}`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const client = clientWithCertificate("msal-alias", resource);
      const cca = confidentialClient(
        msal,
        client.appId,
        { clientCertificate: credential(client.certificate) },
        `${KEYWARD_URL}/${alias}/`,
      );
      await acquireAndVerify(cca, { resource, client, azpacr: "2" });
    });
  }
}
