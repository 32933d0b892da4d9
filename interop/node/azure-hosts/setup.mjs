// The registrations the Azure host names suites need, made with the keyward CLI against the
// server of interop/azure-hosts/run.sh, written to $WORK/setup.json for the suites to read:
// the article's app (ciam-client-app) with a certificate whose key is encrypted (the article's
// authConfig.js path), an API it holds a role on, a certificate made in the vault (the
// article's Key Vault path) and the identity that reads it (startup-identity).

import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const KEYWARD = process.env.KEYWARD_BIN;
const DATA = process.env.KEYWARD_DATA;
const WORK = process.env.WORK;

function kw(...args) {
  const out = execFileSync(KEYWARD, [...args, "--data", DATA, "--json"], { encoding: "utf8" });
  return out.trim() ? JSON.parse(out) : null;
}

function certificate(name, passphrase) {
  const out = join(WORK, name);
  const password = passphrase ? ["--password-file", join(WORK, `${name}.pw`)] : ["--no-password"];
  if (passphrase) writeFileSync(join(WORK, `${name}.pw`), `${passphrase}\n`);
  execFileSync(KEYWARD, ["cert", "new", "--subject", `CN=${name}`, "--out", out, ...password], { stdio: "ignore" });
  return out;
}

const admin = JSON.parse(readFileSync(join(DATA, "admin", "admin.json"), "utf8"));

kw("app", "create", "--name", "tasks-api", "--identifier-uri", "api://tasks-api");
kw("app", "role", "add", "tasks-api", "--value", "Tasks.Read.All");
const app = kw("app", "create", "--name", "ciam-client-app");
kw("app", "grant", "ciam-client-app", "tasks-api", "Tasks.Read.All");

// The article's certificate: its key encrypted with a passphrase.
const passphrase = "article passphrase";
const appCert = certificate("ciam-client-app", passphrase);
const added = kw("app", "cert", "add", "ciam-client-app", `${appCert}.cer`);

// The article's Key Vault path: a certificate made in the vault (PEM), its public part on the app.
kw("vault", "cert", "create", "ciam-client-app-cert", "--subject", "CN=ciam-client-app", "--content-type", "pem");
const vaultCer = join(WORK, "vault.cer");
execFileSync(KEYWARD, ["vault", "cert", "download", "ciam-client-app-cert", "--format", "cer", "--out", vaultCer, "--data", DATA], { stdio: "ignore" });
kw("app", "cert", "add", "ciam-client-app", vaultCer);

// The identity the article's code runs as (DefaultAzureCredential): a certificate + key PEM.
const reader = kw("app", "create", "--name", "startup-identity");
const readerCert = certificate("startup-identity");
kw("app", "cert", "add", "startup-identity", `${readerCert}.cer`);
const bundle = join(WORK, "startup-identity-bundle.pem");
writeFileSync(bundle, readFileSync(`${readerCert}.key`, "utf8") + readFileSync(`${readerCert}.pem`, "utf8"));
kw("vault", "grant", "startup-identity", "--certificates", "get", "--secrets", "get");

// A person of the tenant, for `az login --use-device-code`.
const userEmail = "az-user@contoso.example";
const userPassword = "correct horse battery";
writeFileSync(join(WORK, "az-user.pw"), `${userPassword}\n`);
kw("user", "create", "--email", userEmail, "--password-file", join(WORK, "az-user.pw"));

const setup = {
  user: { email: userEmail, password: userPassword },
  tenant: admin.tenant,
  tenantId: admin.tenantId,
  clientId: app.appId,
  scope: "api://tasks-api/.default",
  keyPath: `${appCert}.key`,
  certPemPath: `${appCert}.pem`,
  passphrase,
  thumbprint: added.customKeyIdentifier,
  vaultUrl: "https://default.vault.azure.net",
  vaultCertificate: "ciam-client-app-cert",
  reader: { clientId: reader.appId, bundlePath: bundle },
  // The managed identity endpoint `keyward serve --managed-identity startup-identity` serves.
  managedIdentityEnv: Object.fromEntries(
    readFileSync(join(DATA, "managed-identity", "startup-identity.env"), "utf8")
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  ),
};
writeFileSync(join(WORK, "setup.json"), JSON.stringify(setup, null, 2));
console.log(`azure-hosts setup: tenant ${setup.tenant} (${setup.tenantId}), app ${setup.clientId}`);
