// MSAL Node 7, unmodified, against a server started with a declarative state file
// (`keyward serve --config`): two tenants and five apps with fixed ids, a certificate the file
// asks Keyward to generate, one made by the real `openssl`, a generated client secret, a user and
// a vault. The test knows only what the file says and the files it names.
//
// The server runs on a data directory of its own whose tls/ is a copy of the suite server's, so
// that NODE_EXTRA_CA_CERTS (set by run.mjs) trusts it as real users trust a server: no custom
// agent or network client.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as msal from "@azure/msal-node";
import { KEYWARD_BIN, KEYWARD_DATA, TEST_TIMEOUT_MS, describeError } from "./keyward.mjs";

const CONTOSO = "6b6b6b6b-0000-4000-8000-000000000001";
const FABRIKAM = "6b6b6b6b-0000-4000-8000-000000000002";
const API = "6b6b6b6b-0000-4000-8000-0000000000a1";
const DAEMON = "6b6b6b6b-0000-4000-8000-0000000000a2";
const LEGACY = "6b6b6b6b-0000-4000-8000-0000000000a3";
const WEB = "6b6b6b6b-0000-4000-8000-0000000000b1";
const WORKER = "6b6b6b6b-0000-4000-8000-0000000000b2";

const CONFIG = `
[[tenant]]
name = "contoso"
id = "${CONTOSO}"

[[tenant]]
name = "fabrikam"
id = "${FABRIKAM}"

[[app]]
name = "api"
tenant = "contoso"
app_id = "${API}"
identifier_uris = ["api://state-api"]
[[app.role]]
value = "Tasks.Read"

[[app]]
name = "daemon"
tenant = "contoso"
app_id = "${DAEMON}"
[[app.grant]]
app = "api"
roles = ["Tasks.Read"]
[[app.certificate]]
name = "generated"
generate = { subject = "CN=daemon", cert = "out/daemon.pem", key = "out/daemon.key" }
[[app.secret]]
name = "ci"
generate = "out/daemon.secret"
expires = "30d"

[[app]]
name = "legacy"
tenant = "contoso"
app_id = "${LEGACY}"
[[app.certificate]]
name = "openssl"
file = "legacy.pem"

[[app]]
name = "web"
tenant = "fabrikam"
app_id = "${WEB}"
identifier_uris = ["api://fabrikam-web"]
[[app.role]]
value = "Web.Call"

[[app]]
name = "worker"
tenant = "fabrikam"
app_id = "${WORKER}"
[[app.grant]]
app = "web"
roles = ["Web.Call"]
[[app.certificate]]
name = "generated"
generate = { subject = "CN=worker", cert = "out/worker.pem", key = "out/worker.key" }

[[user]]
email = "alice@contoso.com"
tenant = "contoso"
generate_password = "out/alice.password"
roles = ["global-admin"]

[[vault]]
name = "default"
tenant = "contoso"
[[vault.secret]]
name = "db-password"
generate = "out/db-password"
[[vault.access]]
app = "daemon"
secrets = ["get"]
`;

const WORK = mkdtempSync(join(tmpdir(), "keyward-interop-state-"));
let server;
let url;

before(async () => {
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=legacy",
    "-keyout", join(WORK, "legacy.key"), "-out", join(WORK, "legacy.pem"),
  ], { stdio: "ignore" });
  writeFileSync(join(WORK, "keyward.toml"), CONFIG);
  cpSync(join(KEYWARD_DATA, "tls"), join(WORK, "data", "tls"), { recursive: true });
  const ready = join(WORK, "keyward.url");
  server = spawn(KEYWARD_BIN, [
    "serve", "--config", join(WORK, "keyward.toml"), "--listen", "127.0.0.1:0",
    "--data", join(WORK, "data"), "--ready-file", ready,
  ], { stdio: "ignore" });
  const deadline = Date.now() + 60_000;
  while (!existsSync(ready)) {
    assert.equal(server.exitCode, null, "keyward serve --config exited");
    assert.ok(Date.now() < deadline, "the server did not start");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  url = readFileSync(ready, "utf8").trim();
});

after(() => {
  server?.kill("SIGTERM");
  rmSync(WORK, { recursive: true, force: true });
});

function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
}

function certificate(cert, key) {
  const pem = readFileSync(join(WORK, cert), "utf8");
  return {
    clientCertificate: {
      thumbprintSha256: new X509Certificate(pem).fingerprint256.replaceAll(":", ""),
      privateKey: readFileSync(join(WORK, key), "utf8"),
    },
  };
}

async function claims(tenant, clientId, credentials, scope) {
  const cca = new msal.ConfidentialClientApplication({
    auth: { clientId, authority: `${url}/${tenant}/`, knownAuthorities: [new URL(url).host], ...credentials },
  });
  try {
    const result = await cca.acquireTokenByClientCredential({ scopes: [scope] });
    return claimsOf(result.accessToken);
  } catch (error) {
    error.message = `${error.message} [${describeError(error)}]`;
    throw error;
  }
}

test("MSAL Node gets tokens with only the ids and files of the state file", { timeout: TEST_TIMEOUT_MS }, async () => {
  let c = await claims(CONTOSO, DAEMON, certificate("out/daemon.pem", "out/daemon.key"), "api://state-api/.default");
  assert.equal(c.tid, CONTOSO);
  assert.equal(c.aud, API);
  assert.deepEqual(c.roles, ["Tasks.Read"]);

  const clientSecret = readFileSync(join(WORK, "out", "daemon.secret"), "utf8");
  c = await claims(CONTOSO, DAEMON, { clientSecret }, "api://state-api/.default");
  assert.equal(c.azp, DAEMON);

  c = await claims(CONTOSO, LEGACY, certificate("legacy.pem", "legacy.key"), "api://state-api/.default");
  assert.equal(c.azp, LEGACY);

  c = await claims(FABRIKAM, WORKER, certificate("out/worker.pem", "out/worker.key"), "api://fabrikam-web/.default");
  assert.equal(c.tid, FABRIKAM);
  assert.deepEqual(c.roles, ["Web.Call"]);
});

test("applying the file again changes nothing", { timeout: TEST_TIMEOUT_MS }, () => {
  const out = execFileSync(KEYWARD_BIN, ["apply", join(WORK, "keyward.toml"), "--data", join(WORK, "data"), "--json"], {
    encoding: "utf8",
  });
  assert.deepEqual(JSON.parse(out).changes, []);
});
