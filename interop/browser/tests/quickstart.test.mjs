// `keyward quickstart`, the real binary: the whole article in one command, then a customer signs
// up in the sample web app it started; Ctrl-C stops everything; a second run reuses the app
// registration and the certificate.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  GUID,
  KEYWARD_BIN,
  TEST_TIMEOUT_MS,
  WORK,
  freePort,
  launchBrowser,
  newPassword,
  random,
  shot,
  signUp,
  submitAndReturnTo,
} from "./harness.mjs";

const running = new Set();
after(() => {
  for (const child of running) child.kill("SIGKILL");
});

/** Starts `keyward quickstart` and waits until it says the app is up; returns its output so far. */
async function quickstart(data, port) {
  const child = spawn(KEYWARD_BIN, ["quickstart", "--data", data, "--listen", "127.0.0.1:0", "--port", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  const chunks = [];
  child.stdout.on("data", (c) => chunks.push(c));
  child.stderr.on("data", (c) => chunks.push(c));
  const exit = new Promise((resolveExit) =>
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolveExit({ code, signal });
    }),
  );
  const output = () => Buffer.concat(chunks).toString("utf8");
  const deadline = Date.now() + 60_000;
  while (!output().includes("Press Ctrl-C")) {
    if (child.exitCode !== null) throw new Error(`keyward quickstart exited (code ${child.exitCode}):\n${output()}`);
    if (Date.now() > deadline) throw new Error(`keyward quickstart did not finish its steps in 60 s:\n${output()}`);
    await sleep(100);
  }
  return {
    output,
    /** Ctrl-C, as the user stops it; resolves to the exit status. */
    async interrupt() {
      child.kill("SIGINT");
      const result = await Promise.race([exit, sleep(20_000).then(() => undefined)]);
      if (!result) throw new Error(`keyward quickstart did not stop within 20 s of SIGINT:\n${output()}`);
      return result;
    },
  };
}

test("keyward quickstart: the article in one command, a customer signs up, Ctrl-C, and again", { timeout: TEST_TIMEOUT_MS }, async () => {
  const data = join(WORK, `quickstart-${random()}`);
  const port = await freePort();
  const origin = `http://localhost:${port}`;

  const first = await quickstart(data, port);
  const text = first.output();
  for (const step of [1, 2, 3, 4, 5, 6, 7]) assert.match(text, new RegExp(`^${step}\\. `, "m"), `step ${step} is printed`);
  assert.match(text, /\$ keyward app create --name ciam-client-app --redirect-uri http:\/\/localhost:\d+\/auth\/redirect/);
  const byHand = text.split("\n").filter((line) => /\$ keyward (app|user) /.test(line));
  assert.ok(byHand.length >= 4, `the by-hand commands are printed:\n${text}`);
  for (const line of byHand) assert.ok(line.includes(`--data ${data}`), `a by-hand command carries --data: ${line}`);
  assert.match(text, /the token endpoint accepts it/, "the secret worked before the certificate came");
  assert.match(text, /the token endpoint accepts an assertion signed with it/);
  assert.match(text, /now refuses the secret \(AADSTS7000215\)/, "the secret is gone");
  const authority = text.match(/(https:\/\/localhost:\d+)\/contoso\//)[1];
  const clientId = text.match(/Application \(client\) ID ([0-9a-f-]{36})/)[1];
  assert.match(clientId, GUID);
  assert.ok(text.includes(`Open ${origin}`), "it says where to go");
  assert.ok(
    text.includes(`TLS: the local CA (${join(data, "tls", "ca.pem")}) is not trusted by this machine; run \`keyward trust --data ${data}\``),
    `it says the CA is not trusted and how to trust it:\n${text}`,
  );

  const browser = await launchBrowser(join(data, "tls", "ca.pem"));
  try {
    const page = await browser.newPage();
    await page.goto(origin);
    await page.click("#sign-up");
    const user = { email: `qs-${random()}@contoso.example`, name: "Quick Start", password: newPassword() };
    await signUp(page, user, { authority });
    await submitAndReturnTo(page, `${origin}/users/id`);
    await shot(page, "quickstart-1-claims");
    const aud = await page.textContent('#claims tr[data-claim="aud"] td.value');
    assert.equal(aud, clientId, "the app quickstart started signs users in as ciam-client-app");
  } finally {
    await browser.close();
  }
  const stopped = await first.interrupt();
  assert.equal(stopped.code, 0, first.output());
  assert.match(first.output(), /Stopped\./);

  // Again: the same app and certificate, nothing to add or remove.
  const second = await quickstart(data, port);
  const again = second.output();
  assert.ok(again.includes(`Application (client) ID ${clientId} (registered before: reused)`), again);
  assert.match(again, /reused ciam-client-app\.cer/);
  assert.match(again, /\(uploaded before\)/);
  assert.match(again, /skipped: the app has no client secret/);
  assert.equal((await second.interrupt()).code, 0, second.output());
});
