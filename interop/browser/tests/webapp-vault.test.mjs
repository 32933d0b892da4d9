// The article's other way: the sample web app reads its certificate from the vault
// (KEY_VAULT_URL, CERTIFICATE_NAME), made there as the article's "Azure Key Vault" tab does; only
// the certificate (the bundle's `cer`) leaves the vault, to be uploaded to the app registration.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  AUTHORITY,
  GUID,
  KEYWARD_DATA,
  KEYWARD_URL,
  TEST_TIMEOUT_MS,
  WEBAPP_BIN,
  WORK,
  freePort,
  kw,
  launchBrowser,
  newPassword,
  random,
  shot,
  signUp,
  startHttpProcess,
  submitAndReturnTo,
} from "./harness.mjs";

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test("the article's other way: the certificate read from the vault (KEY_VAULT_URL, CERTIFICATE_NAME)", { timeout: TEST_TIMEOUT_MS }, async () => {
  const port = await freePort();
  const vaultOrigin = `http://localhost:${port}`;
  const name = `ciam-client-app-${random()}`;
  // Made in the vault, as the article's "Azure Key Vault" tab does; only the .cer leaves it.
  const created = kw("vault", "cert", "create", name, "--subject", `CN=${name}`, "--content-type", "pem");
  const cer = join(WORK, `${name}.cer`);
  writeFileSync(cer, Buffer.from(created.cer, "base64"));
  const app = kw("app", "create", "--name", name, "--redirect-uri", `${vaultOrigin}/auth/redirect`, "--redirect-uri", vaultOrigin);
  kw("app", "cert", "add", app.appId, cer);
  const env = {
    PATH: process.env.PATH,
    CLIENT_ID: app.appId,
    AUTHORITY,
    REDIRECT_URI: `${vaultOrigin}/auth/redirect`,
    POST_LOGOUT_REDIRECT_URI: vaultOrigin,
    KEY_VAULT_URL: KEYWARD_URL,
    CERTIFICATE_NAME: name,
    // Who reads the vault: the server's admin, as `az login` is the developer in the article.
    KEYWARD_DATA,
    PORT: String(port),
  };
  const vaultApp = await startHttpProcess(WEBAPP_BIN, [], { env, cwd: WORK, port });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(vaultOrigin);
    await page.click("#sign-up");
    await signUp(page, { email: `vault-${random()}@contoso.example`, name: "Vault User", password: newPassword() });
    await submitAndReturnTo(page, `${vaultOrigin}/users/id`);
    await shot(page, "webapp-vault-1-claims");
    assert.equal(await page.textContent('#claims tr[data-claim="aud"] td.value'), app.appId);
    assert.match(await page.textContent('#claims tr[data-claim="oid"] td.value'), GUID);
    await context.close();
  } finally {
    const { code } = await vaultApp.stop();
    assert.equal(code, 0, vaultApp.output());
  }
});
