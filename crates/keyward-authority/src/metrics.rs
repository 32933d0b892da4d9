//! Counters for `/metrics`, in the Prometheus text format, and the gauge of when each
//! credential expires (so that an alert on an expiring certificate is one Prometheus rule:
//! `keyward_credential_expiry_timestamp_seconds - time() < 30 * 86400`).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::authority::is_builtin;
use crate::directory::Snapshot;

/// What the token endpoint has done since start.
#[derive(Debug, Default)]
pub struct Metrics {
    tokens_issued: AtomicU64,
    token_errors: AtomicU64,
    last_use_writes: AtomicU64,
    sign_ins_written: AtomicU64,
    sign_ins_dropped: AtomicU64,
    directory_reloads: AtomicU64,
    directory_reload_micros: AtomicU64,
    directory_apps_read: AtomicU64,
    directory_apps_rebuilt: AtomicU64,
}

impl Metrics {
    pub(crate) fn token_issued(&self) {
        self.tokens_issued.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn token_refused(&self) {
        self.token_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn last_uses_written(&self, count: u64) {
        self.last_use_writes.fetch_add(count, Ordering::Relaxed);
    }

    pub(crate) fn sign_ins_written(&self, count: u64) {
        self.sign_ins_written.fetch_add(count, Ordering::Relaxed);
    }

    pub(crate) fn sign_in_dropped(&self) {
        self.sign_ins_dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// A reload of the directory from the database took `took`, read `read` applications and
    /// made new entries for `rebuilt` of them (the others were unchanged and kept).
    pub(crate) fn directory_reloaded(&self, took: std::time::Duration, read: u64, rebuilt: u64) {
        self.directory_reloads.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.directory_reload_micros.fetch_add(micros, Ordering::Relaxed);
        self.directory_apps_read.fetch_add(read, Ordering::Relaxed);
        self.directory_apps_rebuilt.fetch_add(rebuilt, Ordering::Relaxed);
    }

    /// Applications read from the database by reloads since start: after the first, only
    /// those written since the one before.
    pub fn directory_apps_read(&self) -> u64 {
        self.directory_apps_read.load(Ordering::Relaxed)
    }

    /// Applications whose directory entries reloads made anew since start.
    pub fn directory_apps_rebuilt(&self) -> u64 {
        self.directory_apps_rebuilt.load(Ordering::Relaxed)
    }

    /// How many credential last uses have been written to the database since start (one
    /// statement each, at most one per credential per minute).
    pub fn last_use_writes(&self) -> u64 {
        self.last_use_writes.load(Ordering::Relaxed)
    }

    /// The Prometheus exposition.
    pub fn render(&self) -> String {
        format!(
            "# HELP keyward_token_requests_total Token endpoint requests by result.\n\
             # TYPE keyward_token_requests_total counter\n\
             keyward_token_requests_total{{result=\"issued\"}} {}\n\
             keyward_token_requests_total{{result=\"refused\"}} {}\n\
             # HELP keyward_last_use_writes_total Credential last uses written to the database (at most one per credential per minute).\n\
             # TYPE keyward_last_use_writes_total counter\n\
             keyward_last_use_writes_total {}\n\
             # HELP keyward_sign_in_records_total Token requests recorded in service-principal sign-in records, or dropped because the buffer was full.\n\
             # TYPE keyward_sign_in_records_total counter\n\
             keyward_sign_in_records_total{{result=\"written\"}} {}\n\
             keyward_sign_in_records_total{{result=\"dropped\"}} {}\n\
             # HELP keyward_directory_reloads_total Reloads of the in-memory directory from the database (at start, and after a write by this or another server).\n\
             # TYPE keyward_directory_reloads_total counter\n\
             keyward_directory_reloads_total {}\n\
             # HELP keyward_directory_reload_seconds_total Time spent in those reloads.\n\
             # TYPE keyward_directory_reload_seconds_total counter\n\
             keyward_directory_reload_seconds_total {:.6}\n\
             # HELP keyward_directory_apps_read_total Applications those reloads read from the database (after the first, only those written since the one before).\n\
             # TYPE keyward_directory_apps_read_total counter\n\
             keyward_directory_apps_read_total {}\n\
             # HELP keyward_directory_apps_rebuilt_total Applications whose in-memory entries those reloads made anew (the unchanged ones are kept).\n\
             # TYPE keyward_directory_apps_rebuilt_total counter\n\
             keyward_directory_apps_rebuilt_total {}\n",
            self.tokens_issued.load(Ordering::Relaxed),
            self.token_errors.load(Ordering::Relaxed),
            self.last_use_writes.load(Ordering::Relaxed),
            self.sign_ins_written.load(Ordering::Relaxed),
            self.sign_ins_dropped.load(Ordering::Relaxed),
            self.directory_reloads.load(Ordering::Relaxed),
            self.directory_reload_micros.load(Ordering::Relaxed) as f64 / 1e6,
            self.directory_apps_read.load(Ordering::Relaxed),
            self.directory_apps_rebuilt.load(Ordering::Relaxed),
        )
    }
}

/// How many credentials [`credential_expiry`] shows at most: the ones that expire soonest.
pub const EXPIRY_SERIES_LIMIT: usize = 10_000;

/// One gauge per certificate and client secret of every application:
/// `keyward_credential_expiry_timestamp_seconds{tenant,app,key_id,kind}`, the Unix time at
/// which it stops working. `app` is the client ID; tenant names are letters, digits and `-`,
/// so no label needs escaping.
///
/// At most [`EXPIRY_SERIES_LIMIT`] of them, those that expire soonest (what an alert on expiry
/// looks at); `keyward_credential_expiry_series_omitted` counts the rest. A directory of a
/// million credentials would otherwise answer every scrape with 170 MB of text, and a million
/// series is more than a Prometheus server takes from one target.
pub fn credential_expiry(snapshot: &Snapshot) -> String {
    let mut text = String::from(
        "# HELP keyward_credential_expiry_timestamp_seconds When an application's certificate or client secret stops working (Unix time).\n\
         # TYPE keyward_credential_expiry_timestamp_seconds gauge\n",
    );
    let mut series = Vec::new();
    for tenant in snapshot.tenants() {
        for entry in snapshot.apps_of(tenant.tenant.id) {
            let app = &entry.app;
            if is_builtin(app.app_id) {
                continue;
            }
            let keys = app.key_credentials.iter().map(|k| ("certificate", k.key_id, k.end));
            let secrets = app.password_credentials.iter().map(|p| ("secret", p.key_id, p.end));
            for (kind, key_id, end) in keys.chain(secrets) {
                series.push((
                    end.unix_timestamp(),
                    tenant.tenant.name.as_str(),
                    app.app_id,
                    key_id,
                    kind,
                ));
            }
        }
    }
    let omitted = series.len().saturating_sub(EXPIRY_SERIES_LIMIT);
    if omitted > 0 {
        series.select_nth_unstable(EXPIRY_SERIES_LIMIT);
        series.truncate(EXPIRY_SERIES_LIMIT);
    }
    // In a stable order: by tenant, then application, then credential.
    series.sort_by(|a, b| (a.1, a.2, a.3).cmp(&(b.1, b.2, b.3)));
    for (end, tenant, app_id, key_id, kind) in series {
        let _ = writeln!(
            text,
            "keyward_credential_expiry_timestamp_seconds{{tenant=\"{tenant}\",app=\"{app_id}\",key_id=\"{key_id}\",kind=\"{kind}\"}} {end}",
        );
    }
    let _ = write!(
        text,
        "# HELP keyward_credential_expiry_series_omitted Credentials left out of keyward_credential_expiry_timestamp_seconds: all but the {EXPIRY_SERIES_LIMIT} that expire soonest.\n\
         # TYPE keyward_credential_expiry_series_omitted gauge\n\
         keyward_credential_expiry_series_omitted {omitted}\n"
    );
    text
}

#[cfg(test)]
mod tests {
    use keyward_store::PasswordCredential;
    use time::Duration;
    use uuid::Uuid;

    use super::*;
    use crate::applications::NewApplication;
    use crate::testing::authority;

    /// Past the limit, the credentials that expire soonest are shown and the rest counted.
    #[tokio::test]
    async fn the_expiry_gauge_shows_the_soonest_and_counts_the_rest() {
        let t = authority(crate::Config::new("https://localhost:8443")).await;
        let tenant_id = t.tenant.tenant.id;
        let app = t
            .authority
            .create_application(
                tenant_id,
                NewApplication {
                    display_name: "many secrets".into(),
                    ..NewApplication::default()
                },
            )
            .await
            .unwrap();
        let now = t.authority.now();
        let secrets: Vec<PasswordCredential> = (0..EXPIRY_SERIES_LIMIT + 3)
            .map(|i| PasswordCredential {
                key_id: Uuid::new_v4(),
                display_name: format!("s{i}"),
                hint: "abc".into(),
                secret_hash: String::new(),
                start: now,
                end: now + Duration::days(1) + Duration::seconds(i as i64),
            })
            .collect();
        let (latest, soonest) = (secrets[secrets.len() - 1].key_id, secrets[0].key_id);
        t.authority
            .update_application(tenant_id, app.app.id, |a| {
                a.password_credentials = secrets.clone();
                Ok(())
            })
            .await
            .unwrap();

        let text = credential_expiry(&t.authority.snapshot());
        let shown = text
            .lines()
            .filter(|l| l.starts_with("keyward_credential_expiry_timestamp_seconds{"))
            .count();
        assert_eq!(shown, EXPIRY_SERIES_LIMIT);
        assert!(
            text.contains("keyward_credential_expiry_series_omitted 3\n"),
            "{}",
            &text[text.len() - 300..]
        );
        assert!(text.contains(&soonest.to_string()), "the soonest to expire is shown");
        assert!(!text.contains(&latest.to_string()), "the last to expire is left out");
    }
}
