//! The applications' certificates: `apps × certs` distinct, real, self-signed RSA-2048
//! certificates (`CN=scale-app-I-J`), signed on every core with keys from a small pool (an RSA
//! key takes tens of milliseconds to generate, a signature about one: the pool makes a million
//! certificates a matter of minutes, not hours; each certificate is still distinct, by subject,
//! serial and signature). They are kept in a file keyed by the counts, which later runs read
//! instead of signing again.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use keyward_pki::{CertificateSpec, KeyType, Name, PrivateKey, Validity};

use super::progress;

/// RSA keys the certificates are signed with, at most.
pub const KEY_POOL: usize = 64;

/// How long the certificates are valid: ten years, so that a cached set stays usable.
const VALIDITY_DAYS: u32 = 3650;

/// The certificates, DER, application by application: those of application `i` are
/// `ders[i * certs .. (i + 1) * certs]`.
pub struct Certificates {
    /// Every certificate.
    pub ders: Vec<Vec<u8>>,
    /// Whether they were read from the cache file.
    pub from_cache: bool,
    /// The cache file.
    pub file: PathBuf,
    /// How long making (or reading) them took.
    pub elapsed: Duration,
    /// RSA keys they were signed with (0 when read from the cache).
    pub keys: usize,
}

/// The certificates for `apps × certs`: read from `cache_dir/certs-APPSxCERTS.der` if a run made
/// them before, otherwise made on every core and written there.
pub fn load_or_make(cache_dir: &Path, apps: usize, certs: usize) -> anyhow::Result<Certificates> {
    let start = Instant::now();
    let count = apps * certs;
    let file = cache_dir.join(format!("certs-{apps}x{certs}.der"));
    if file.exists() {
        progress(&format!("reading {count} cached certificates from {}", file.display()));
        let ders = read(&file, count)?;
        return Ok(Certificates {
            ders,
            from_cache: true,
            file,
            elapsed: start.elapsed(),
            keys: 0,
        });
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let keys = KEY_POOL.min(count).max(1);
    progress(&format!(
        "making {count} RSA-2048 certificates with a pool of {keys} keys on {threads} threads (cached in {} for later runs)",
        file.display()
    ));
    let pool = in_parallel(keys, threads, |_| {
        PrivateKey::generate(KeyType::Rsa2048).context("generating an RSA key")
    })?;
    let done = AtomicUsize::new(0);
    let ders = in_parallel(count, threads, |k| {
        let (i, j) = (k / certs, k % certs);
        let name = Name::parse(&format!("CN=scale-app-{i}-{j}"))?;
        let certificate = CertificateSpec::new(name)
            .validity(Validity::Days(VALIDITY_DAYS))
            .self_signed(&pool[k % pool.len()])
            .with_context(|| format!("signing certificate {i}-{j}"))?;
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of((count / 10).max(1)) {
            progress(&format!("  {n} of {count} certificates"));
        }
        Ok(certificate.der().to_vec())
    })?;
    write(cache_dir, &file, &ders)?;
    Ok(Certificates {
        ders,
        from_cache: false,
        file,
        elapsed: start.elapsed(),
        keys,
    })
}

/// `f(0..n)` on `threads` threads, in order.
fn in_parallel<T: Send>(
    n: usize,
    threads: usize,
    f: impl Fn(usize) -> anyhow::Result<T> + Sync,
) -> anyhow::Result<Vec<T>> {
    let threads = threads.clamp(1, n.max(1));
    let per_thread = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let f = &f;
                let range = (t * per_thread).min(n)..((t + 1) * per_thread).min(n);
                scope.spawn(move || range.map(f).collect::<anyhow::Result<Vec<T>>>())
            })
            .collect();
        let mut all = Vec::with_capacity(n);
        for handle in handles {
            all.extend(
                handle
                    .join()
                    .map_err(|_| anyhow::anyhow!("a worker thread panicked"))??,
            );
        }
        Ok(all)
    })
}

/// Writes the certificates, each as a 4-byte little-endian length and its DER, to a file beside
/// `file`, then renames it: a run stopped half-way leaves no truncated cache.
fn write(cache_dir: &Path, file: &Path, ders: &[Vec<u8>]) -> anyhow::Result<()> {
    std::fs::create_dir_all(cache_dir).with_context(|| format!("cannot make {}", cache_dir.display()))?;
    let partial = file.with_extension("partial");
    let mut out =
        BufWriter::new(std::fs::File::create(&partial).with_context(|| format!("cannot write {}", partial.display()))?);
    for der in ders {
        out.write_all(&u32::try_from(der.len())?.to_le_bytes())?;
        out.write_all(der)?;
    }
    out.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, file)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), file.display()))
}

/// Reads what [`write`] wrote; an error unless it holds exactly `count` certificates.
fn read(file: &Path, count: usize) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut input =
        BufReader::new(std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?);
    let mut ders = Vec::with_capacity(count);
    let mut length = [0u8; 4];
    loop {
        match input.read_exact(&mut length) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
        }
        let mut der = vec![0u8; u32::from_le_bytes(length) as usize];
        input
            .read_exact(&mut der)
            .with_context(|| format!("{} is truncated", file.display()))?;
        ders.push(der);
    }
    if ders.len() != count {
        bail!(
            "{} holds {} certificates, not {count}: delete it to make them again",
            file.display(),
            ders.len()
        );
    }
    Ok(ders)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_file_reads_back_what_was_written_and_refuses_another_count() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("certs-2x2.der");
        let ders = vec![vec![0x30, 1, 2], Vec::new(), vec![0xff; 300], vec![7]];
        write(dir.path(), &file, &ders).unwrap();
        assert!(!file.with_extension("partial").exists());
        assert_eq!(read(&file, 4).unwrap(), ders);
        let refused = read(&file, 5).unwrap_err().to_string();
        assert!(refused.contains("holds 4 certificates, not 5"), "{refused}");
    }

    #[test]
    fn in_parallel_keeps_the_order() {
        let out = in_parallel(1001, 3, |i| Ok(i * 2)).unwrap();
        assert_eq!(out, (0..1001).map(|i| i * 2).collect::<Vec<_>>());
        assert!(in_parallel(0, 4, Ok).unwrap().is_empty());
    }
}
