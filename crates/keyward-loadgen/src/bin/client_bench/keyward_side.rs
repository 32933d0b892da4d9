//! The keyward-client side: the same commands as `bench/client/msal.mjs`, in this process, on a
//! single-threaded Tokio runtime (one thread, like Node's event loop).

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use keyward_client::{AccessToken, CertificateCredential, ConfidentialClient};

use crate::Mode;
use crate::setup::Setup;
use crate::stats::{CacheRound, nanos};

/// Cache hits are counted in batches of this many between clock reads, as on the Node side.
const BATCH: usize = 1000;

/// keyward-client against the server.
pub struct KeywardSide {
    runtime: tokio::runtime::Runtime,
    setup: Setup,
    /// The client of the cache measurement and the token it holds.
    cached: Option<(ConfidentialClient, String)>,
}

impl KeywardSide {
    /// A current-thread runtime and the configuration; no client yet.
    pub fn new(setup: Setup) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the runtime")?;
        Ok(Self {
            runtime,
            setup,
            cached: None,
        })
    }

    /// A client from the PEM text, sharing nothing with any other: its own parsed key, HTTP
    /// client, connection pool, metadata and cache. Builds it, makes no request.
    fn new_client(&self) -> anyhow::Result<ConfidentialClient> {
        let setup = &self.setup;
        let credential = CertificateCredential::from_pem(&setup.certificate_pem, &setup.private_key_pem, None)?;
        Ok(
            ConfidentialClient::builder(&setup.authority, &setup.client_id, credential)
                .trust_ca(&setup.ca_pem)
                .build()?,
        )
    }

    /// One client for the cache measurement: its first token from the server, then `warmup`
    /// cache hits, untimed.
    pub fn prepare(&mut self, warmup: usize) -> anyhow::Result<()> {
        let client = self.new_client()?;
        let scopes = [self.setup.scope.as_str()];
        let first = self.runtime.block_on(async {
            let first = client.acquire_token_for_client(&scopes).await?;
            for i in 0..warmup {
                let token = client.acquire_token_for_client(&scopes).await?;
                ensure!(token.from_cache, "warm-up call {i} was not a cache hit");
            }
            anyhow::Ok(first)
        })?;
        self.setup.check_token(&first, false)?;
        self.cached = Some((client, first.secret().to_owned()));
        Ok(())
    }

    /// Cache hits in batches until `min` has passed (timed as a whole), then `sample` hits timed
    /// one by one.
    pub fn cache(&self, min: Duration, sample: usize) -> anyhow::Result<CacheRound> {
        let Some((client, first)) = &self.cached else {
            bail!("prepare first");
        };
        let scopes = [self.setup.scope.as_str()];
        let (calls, total, sample_ns, last) = self.runtime.block_on(async {
            let mut calls = 0;
            let start = Instant::now();
            let total = loop {
                for _ in 0..BATCH {
                    let token = client.acquire_token_for_client(&scopes).await?;
                    ensure!(token.from_cache, "a cache-hit call was not answered from the cache");
                }
                calls += BATCH;
                let elapsed = start.elapsed();
                if elapsed >= min {
                    break elapsed;
                }
            };
            let mut sample_ns = Vec::with_capacity(sample);
            for _ in 0..sample {
                let t0 = Instant::now();
                let token = client.acquire_token_for_client(&scopes).await?;
                let t1 = Instant::now();
                ensure!(token.from_cache, "a cache-hit call was not answered from the cache");
                sample_ns.push(nanos(t1 - t0));
            }
            let last = client.acquire_token_for_client(&scopes).await?;
            anyhow::Ok((calls, total, sample_ns, last))
        })?;
        self.setup.check_token(&last, true)?;
        ensure!(last.secret() == first, "the cache returned another token");
        Ok(CacheRound {
            calls,
            total_ns: nanos(total),
            sample_ns,
        })
    }

    /// `n` times: a new client and one token, timed one by one. [`Mode::Cold`]: building the
    /// client (key from PEM text), a new TLS connection, discovery, a PS256 assertion, the token
    /// request. [`Mode::Warm`]: the client built and its discovery done (so its connection open)
    /// untimed; the assertion and the token request timed.
    pub fn new_tokens(&self, n: usize, mode: Mode) -> anyhow::Result<Vec<u64>> {
        let scopes = [self.setup.scope.as_str()];
        let mut samples_ns = Vec::with_capacity(n);
        for _ in 0..n {
            let (elapsed, token) = self.runtime.block_on(async {
                let (t0, client) = match mode {
                    Mode::Cold => (Instant::now(), self.new_client()?),
                    Mode::Warm => {
                        let client = self.new_client()?;
                        client.metadata().await?;
                        (Instant::now(), client)
                    }
                };
                let token = client.acquire_token_for_client(&scopes).await?;
                let elapsed = t0.elapsed();
                // Untimed: the dropped client's connection task runs once and closes.
                drop(client);
                tokio::task::yield_now().await;
                anyhow::Ok((elapsed, token))
            })?;
            self.setup.check_token(&token, false)?;
            samples_ns.push(nanos(elapsed));
        }
        Ok(samples_ns)
    }

    /// The cost of one timed empty call: two clock reads back to back.
    pub fn clock(&self, n: usize) -> Vec<u64> {
        (0..n)
            .map(|_| {
                let t0 = Instant::now();
                let t1 = Instant::now();
                nanos(t1 - t0)
            })
            .collect()
    }
}

impl Setup {
    /// A token from the server for our resource, with the role granted.
    fn check_token(&self, token: &AccessToken, from_cache: bool) -> anyhow::Result<()> {
        ensure!(
            token.from_cache == from_cache,
            "from_cache is {}, expected {from_cache}",
            token.from_cache
        );
        ensure!(token.token_type == "Bearer", "token type {}", token.token_type);
        self.check_jwt(token.secret())
    }
}
