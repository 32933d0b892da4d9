#!/usr/bin/env node
// The MSAL Node side of `cargo xtask bench client`: MSAL Node 7, unmodified, against the same
// `keyward serve` as keyward-client, driven by `client_bench` (crates/keyward-loadgen) one
// command at a time so that only one side runs at any moment.
//
//   node msal.mjs CONFIG.json        (NODE_EXTRA_CA_CERTS must name the server's CA)
//
// CONFIG.json: { authority, clientId, scope, role, privateKeyPem, thumbprintSha256 }: the key
// (unencrypted PKCS#8 PEM) is a file path, read once, as an app reads its configuration; MSAL
// names the certificate by its SHA-256 thumbprint and signs PS256. `role` is checked in tokens.
//
// Commands arrive on stdin, one JSON object a line; each answer is one JSON line on stdout:
//   {"cmd":"prepare","warmup":N}   one client for the cache measurement: its first token from
//                                  the server, then N cache hits untimed (V8 warm-up)
//   {"cmd":"cache","minMs":M,"sample":S}
//                                  cache hits in batches of 1,000 until M ms have passed (timed
//                                  as a whole: the mean), then S hits timed one by one (the
//                                  percentiles); every result must say fromCache
//   {"cmd":"new","n":N,"mode":"cold"|"warm"}
//                                  N times: a new ConfidentialClientApplication (no cached token,
//                                  no cached assertion) and one acquireTokenByClientCredential,
//                                  timed one by one. "cold": construction included, discovery, a
//                                  PS256 assertion and the token request, each client on its own
//                                  connections (Node's global fetch dispatcher is replaced,
//                                  untimed, before each client, as if the process had just
//                                  started). "warm": constructed untimed with `authorityMetadata`
//                                  (MSAL's documented way to skip discovery), on Node's keep-alive
//                                  connection: only the assertion and the token request are timed.
//                                  The answer counts the HTTP requests and TLS connections made.
//   {"cmd":"clock","n":N}          the cost of one timed empty call (two hrtime reads)
//   {"cmd":"quit"}
// Failures answer {"ok":false,"error":"..."}; the driver stops the run.

import { readFileSync } from "node:fs";
import dc from "node:diagnostics_channel";
import { dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const MSAL_ENTRY = resolve(HERE, "..", "..", "interop", "node", "node_modules", "@azure", "msal-node", "dist", "index.mjs");

const msal = await import(pathToFileURL(MSAL_ENTRY).href).catch((error) => {
  throw new Error(`cannot load MSAL Node from ${MSAL_ENTRY} (run npm ci in interop/node): ${error.message}`);
});
if (Number(msal.version.split(".")[0]) !== 7) {
  throw new Error(`expected MSAL Node 7, loaded ${msal.version}`);
}

const configPath = process.argv[2];
if (!configPath) throw new Error("usage: node msal.mjs CONFIG.json");
const config = JSON.parse(readFileSync(configPath, "utf8"));
const privateKey = readFileSync(config.privateKeyPem, "utf8");
const scopes = [config.scope];
const knownAuthorities = [new URL(config.authority).host];

// MSAL logs at Info by default; an app in production turns that down. The quietest setting is
// the one most favourable to MSAL.
const system = {
  loggerOptions: { logLevel: msal.LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => {} },
};

function newClient(authorityMetadata) {
  return new msal.ConfidentialClientApplication({
    auth: {
      clientId: config.clientId,
      authority: config.authority,
      knownAuthorities,
      clientCertificate: { thumbprintSha256: config.thumbprintSha256, privateKey },
      ...(authorityMetadata ? { authorityMetadata } : {}),
    },
    system,
  });
}

// HTTP requests and TLS connections made by fetch (undici), counted to prove what "cold" and
// "warm" mean.
let requests = 0;
let connections = 0;
dc.subscribe("undici:request:create", () => requests++);
dc.subscribe("undici:client:connected", () => connections++);

// Node's fetch keeps one process-wide dispatcher (undici's Agent) under this symbol, as
// undici.setGlobalDispatcher does; a new one has no pooled connections and no TLS sessions.
const GLOBAL_DISPATCHER = Symbol.for("undici.globalDispatcher.1");

async function freshConnections() {
  const old = globalThis[GLOBAL_DISPATCHER];
  if (!old) return;
  globalThis[GLOBAL_DISPATCHER] = new old.constructor();
  await old.close();
}

/** A JWT from keyward serve for our resource: three parts, and the role we granted. */
function checkToken(result, { fromCache }) {
  if (!result || typeof result.accessToken !== "string") throw new Error("no access token in the result");
  if (result.fromCache !== fromCache) throw new Error(`fromCache is ${result.fromCache}, expected ${fromCache}`);
  if (result.tokenType !== "Bearer") throw new Error(`token type ${result.tokenType}`);
  const parts = result.accessToken.split(".");
  if (parts.length !== 3) throw new Error("the access token is not a JWT");
  const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
  if (!Array.isArray(claims.roles) || !claims.roles.includes(config.role)) {
    throw new Error(`the token does not carry the role ${config.role}`);
  }
}

const now = process.hrtime.bigint;
let cached; // the client of the cache measurement
let cachedToken;

async function prepare({ warmup }) {
  cached = newClient();
  const first = await cached.acquireTokenByClientCredential({ scopes });
  checkToken(first, { fromCache: false });
  cachedToken = first.accessToken;
  for (let i = 0; i < warmup; i++) {
    const result = await cached.acquireTokenByClientCredential({ scopes });
    if (result.fromCache !== true) throw new Error(`warm-up call ${i} was not a cache hit`);
  }
  return {};
}

async function cache({ minMs, sample }) {
  if (!cached) throw new Error("prepare first");
  const minNs = BigInt(Math.round(minMs * 1e6));
  let calls = 0;
  const start = now();
  let elapsed = 0n;
  do {
    for (let i = 0; i < 1000; i++) {
      const result = await cached.acquireTokenByClientCredential({ scopes });
      if (result.fromCache !== true) throw new Error("a cache-hit call was not answered from the cache");
    }
    calls += 1000;
    elapsed = now() - start;
  } while (elapsed < minNs);
  const sampleNs = new Array(sample);
  for (let i = 0; i < sample; i++) {
    const t0 = now();
    const result = await cached.acquireTokenByClientCredential({ scopes });
    const t1 = now();
    if (result.fromCache !== true) throw new Error("a cache-hit call was not answered from the cache");
    sampleNs[i] = Number(t1 - t0);
  }
  const last = await cached.acquireTokenByClientCredential({ scopes });
  checkToken(last, { fromCache: true });
  if (last.accessToken !== cachedToken) throw new Error("the cache returned another token");
  return { calls, totalNs: Number(elapsed), sampleNs };
}

let discovery; // the server's OpenID configuration, as text, for "warm"

async function newTokens({ n, mode }) {
  if (mode !== "cold" && mode !== "warm") throw new Error(`mode is "cold" or "warm", not ${mode}`);
  if (mode === "warm") {
    // Untimed, before every batch: the metadata, and live keep-alive connections (Node closes
    // idle ones after 4 s, and the other side may have run longer than that). Twice: on a new
    // pool, undici opens a second connection for the second request.
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${config.authority}v2.0/.well-known/openid-configuration`);
      if (!response.ok) throw new Error(`discovery: HTTP ${response.status}`);
      discovery = await response.text();
    }
  }
  const samplesNs = new Array(n);
  const [requestsBefore, connectionsBefore] = [requests, connections];
  for (let i = 0; i < n; i++) {
    let t0;
    let cca;
    if (mode === "cold") {
      await freshConnections();
      t0 = now();
      cca = newClient();
    } else {
      cca = newClient(discovery);
      t0 = now();
    }
    const result = await cca.acquireTokenByClientCredential({ scopes });
    const t1 = now();
    checkToken(result, { fromCache: false });
    samplesNs[i] = Number(t1 - t0);
  }
  return { samplesNs, requests: requests - requestsBefore, connections: connections - connectionsBefore };
}

function clock({ n }) {
  const sampleNs = new Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = now();
    const t1 = now();
    sampleNs[i] = Number(t1 - t0);
  }
  return { sampleNs };
}

const commands = { prepare, cache, new: newTokens, clock };

function answer(object) {
  process.stdout.write(`${JSON.stringify(object)}\n`);
}

answer({ ok: true, ready: true, msal: msal.version, node: process.version });
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (line.trim() === "") continue;
  let command;
  try {
    command = JSON.parse(line);
    if (command.cmd === "quit") break;
    const run = commands[command.cmd];
    if (!run) throw new Error(`unknown command ${command.cmd}`);
    answer({ ok: true, ...(await run(command)) });
  } catch (error) {
    answer({ ok: false, error: `${command?.cmd ?? "?"}: ${error?.stack ?? error}` });
  }
}
process.exit(0);
