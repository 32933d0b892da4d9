// Runs a JavaScript interop suite (interop/node, interop/browser) against a real `keyward serve`:
// the part of each suite's run.mjs that is the same for both.
//
// Builds nothing. `runSuite` makes a temporary directory, starts `keyward serve` on a free port
// with a fresh data directory in it, waits until server.json is written and /healthz answers,
// runs `node --test` on the suite's tests/*.test.mjs (or the files named on the command line)
// with the server's CA in NODE_EXTRA_CA_CERTS (how real users trust it), stops the server with
// SIGTERM and resolves to the exit code: the test runner's, or 1 if the server misbehaved.
//
// Plain ESM on Node's own modules only: each suite's `npm ci` installs its own dependencies, and
// this file needs none of them.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";

/** The repository's root (this file is interop/lib/suite.mjs). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The tenant the server is started with. */
export const TENANT = "contoso";
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export function log(message) {
  process.stderr.write(`[run.mjs] ${message}\n`);
}

/**
 * The binary named by the environment variable `variable`, or target/debug/`name` at the repo
 * root; `undefined` (and a message saying how to build it) if there is none.
 */
export function debugBinary(variable, name) {
  const bin = resolve(process.env[variable] || join(REPO, "target", "debug", name));
  if (!existsSync(bin)) {
    log(`no ${name} binary at ${bin}: build it (cargo build -p ${name}) or set ${variable}`);
    return undefined;
  }
  return bin;
}

/** Whether `npm ci` has been run in the suite's directory (and says so if not). */
export function installed(suite) {
  if (!existsSync(join(suite, "node_modules"))) {
    log(`no node_modules in ${suite}: run npm ci there first`);
    return false;
  }
  return true;
}

// Children run in their own process groups (so that whatever they start ends with them); these
// are the groups still to end if this script is interrupted.
const groups = new Set();

function spawnGroup(command, args, options) {
  const child = spawn(command, args, { ...options, detached: true });
  if (child.pid) {
    groups.add(child.pid);
    child.once("exit", () => groups.delete(child.pid));
  }
  return child;
}

/** Signals a child's whole process group (no error if it is already gone). */
function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch (error) {
    if (error.code !== "ESRCH") throw error;
  }
}

/** A spawned child's exit, as a promise that settles once. */
function exited(child) {
  return new Promise((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolveExit({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once("exit", (code, signal) => resolveExit({ code, signal }));
  });
}

/** Waits for `promise` at most `ms`; resolves to `undefined` on timeout. */
async function within(promise, ms) {
  let timer;
  const timeout = new Promise((resolveTimeout) => (timer = setTimeout(resolveTimeout, ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** GET url trusting only `ca`; resolves to the HTTP status (or rejects on a network error). */
function httpsStatus(url, ca) {
  return new Promise((resolveStatus, reject) => {
    const request = https.get(url, { ca, timeout: 2_000 }, (response) => {
      response.resume();
      resolveStatus(response.statusCode);
    });
    request.on("timeout", () => request.destroy(new Error("timed out")));
    request.on("error", reject);
  });
}

/** Waits until the server wrote server.json and answers 200 on /healthz; returns server.json. */
async function waitUntilReady(server, data) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  const serverJson = join(data, "server.json");
  let info;
  let lastProblem = "no server.json yet";
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`keyward serve exited during start-up (code ${server.exitCode}, signal ${server.signalCode})`);
    }
    if (!info && existsSync(serverJson)) {
      try {
        info = JSON.parse(readFileSync(serverJson, "utf8"));
      } catch (error) {
        lastProblem = `server.json is not readable yet: ${error.message}`;
      }
    }
    if (info) {
      try {
        const status = await httpsStatus(`${info.url}/healthz`, readFileSync(join(data, "tls", "ca.pem")));
        if (status === 200) return info;
        lastProblem = `GET ${info.url}/healthz answered ${status}`;
      } catch (error) {
        lastProblem = `GET ${info.url}/healthz: ${error.message}`;
      }
    }
    await sleep(100);
  }
  throw new Error(`keyward serve was not ready within ${START_TIMEOUT_MS} ms: ${lastProblem}`);
}

/** Starts `keyward serve`; on any start-up failure the server is killed before the error is thrown. */
async function startServer(bin, data, serveArgs, serverLog) {
  const args = ["serve", "--data", data, "--listen", "127.0.0.1:0", "--tenant", TENANT, ...serveArgs];
  const server = spawnGroup(bin, args, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout.on("data", (chunk) => serverLog.push(chunk));
  server.stderr.on("data", (chunk) => serverLog.push(chunk));
  server.on("error", (error) => serverLog.push(Buffer.from(`spawn error: ${error.message}\n`)));
  const serverExit = exited(server);
  try {
    const info = await waitUntilReady(server, data);
    if (info.pid !== server.pid) {
      throw new Error(`server.json names pid ${info.pid}, but the server we started is ${server.pid}`);
    }
    if (info.tenant !== TENANT) {
      throw new Error(`server.json names tenant ${info.tenant}, expected ${TENANT}`);
    }
    return { server, serverExit, url: info.url };
  } catch (error) {
    signalGroup(server, "SIGKILL");
    await within(serverExit, 5_000);
    throw error;
  }
}

/** Runs `node --test` in the suite's directory for at most `timeoutMs`; resolves to its exit code. */
async function runTests(suite, env, timeoutMs) {
  // `node run.mjs tests/a.test.mjs ...` runs only those files (paths relative to the suite's
  // directory).
  const chosen = process.argv.slice(2);
  const files = chosen.length
    ? chosen
    : readdirSync(join(suite, "tests"))
        .filter((name) => name.endsWith(".test.mjs"))
        .sort()
        .map((name) => join("tests", name));
  if (files.length === 0) throw new Error("no tests/*.test.mjs found");
  // The files are named explicitly: `node --test DIR` means different things across Node majors.
  const runner = spawnGroup(process.execPath, ["--test", "--test-concurrency=1", ...files], {
    cwd: suite,
    env,
    stdio: "inherit",
  });
  const runnerExit = exited(runner);
  const finished = await within(runnerExit, timeoutMs);
  if (finished) return finished.code ?? 1;

  log(`the tests did not finish within ${timeoutMs} ms: stopping them`);
  signalGroup(runner, "SIGTERM");
  if (!(await within(runnerExit, 5_000))) signalGroup(runner, "SIGKILL");
  await within(runnerExit, 5_000);
  return 1;
}

/**
 * Runs the suite in the directory `suite` against a fresh `keyward serve` started from `bin`;
 * resolves to the exit code.
 *
 * - `tmpPrefix`: the temporary directory's name prefix (the server's data directory and the
 *   tests' TMPDIR go in it);
 * - `timeoutVariable`: the environment variable bounding the whole test run in ms (default
 *   600000);
 * - `keepVariable`: the environment variable that, set to 1, keeps the temporary directory;
 * - `serveArgs`: more arguments for `keyward serve`;
 * - `env`: more environment for the tests, beside NODE_EXTRA_CA_CERTS, KEYWARD_URL, KEYWARD_DATA,
 *   KEYWARD_BIN, KEYWARD_TENANT and TMPDIR.
 */
export async function runSuite({ suite, bin, tmpPrefix, timeoutVariable, keepVariable, serveArgs = [], env = {} }) {
  const testsTimeoutMs = Number(process.env[timeoutVariable] || 600_000);
  const tmp = mkdtempSync(join(tmpdir(), tmpPrefix));
  const data = join(tmp, "data");
  // The tests' own temporary files (certificates, keys) go under tmp too, so that they are
  // removed with it even when a test process is killed.
  const testTmp = join(tmp, "tmp");
  mkdirSync(testTmp);
  const serverLog = [];
  let server;
  let serverExit;
  let status = 1;
  const onSignal = (signal) => {
    log(`${signal}: stopping`);
    for (const group of groups) {
      try {
        process.kill(-group, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(tmp, { recursive: true, force: true });
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    log(`keyward binary: ${bin}`);
    let url;
    ({ server, serverExit, url } = await startServer(bin, data, serveArgs, serverLog));
    log(`keyward serve is ready at ${url} (pid ${server.pid}, data ${data})`);

    status = await runTests(
      suite,
      {
        ...process.env,
        NODE_EXTRA_CA_CERTS: join(data, "tls", "ca.pem"),
        KEYWARD_URL: url,
        KEYWARD_DATA: data,
        KEYWARD_BIN: bin,
        KEYWARD_TENANT: TENANT,
        ...env,
        TMPDIR: testTmp,
      },
      testsTimeoutMs,
    );

    server.kill("SIGTERM"); // the server itself, as a service manager would
    const stopped = await within(serverExit, STOP_TIMEOUT_MS);
    if (!stopped) {
      log(`keyward serve did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM: killing it`);
      signalGroup(server, "SIGKILL");
      await within(serverExit, 5_000);
      status = status || 1;
    } else if (stopped.code !== 0) {
      log(`keyward serve exited after SIGTERM with code ${stopped.code}, signal ${stopped.signal}`);
      status = status || 1;
    } else {
      log("keyward serve stopped cleanly after SIGTERM");
    }
  } catch (error) {
    log(`error: ${error.message}`);
    status = status || 1;
    if (server) {
      signalGroup(server, "SIGKILL");
      await within(serverExit, 5_000);
    }
  } finally {
    if (status !== 0) {
      log("keyward serve's output:");
      process.stderr.write(Buffer.concat(serverLog));
    }
    if (process.env[keepVariable] === "1") {
      log(`kept ${tmp}`);
    } else {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return status;
}
