//! Sessions in memory, keyed by a random cookie (`HttpOnly`, `SameSite=Lax`): the sign-in
//! requests in flight (state, nonce, PKCE verifier) and, once signed in, the ID token's claims
//! and the refresh token. Nothing secret ever goes to the browser.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_client::AuthCodeRequest;
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// The session cookie's name.
pub const COOKIE: &str = "webapp_session";

/// A session unused for this long is forgotten.
const IDLE_LIMIT: Duration = Duration::from_secs(8 * 3600);
/// A sign-in not completed within this time must start again.
const PENDING_LIMIT: Duration = Duration::from_secs(600);
/// Sign-ins in flight per session (several tabs); the oldest goes first.
const PENDING_PER_SESSION: usize = 4;
/// Sessions kept at most; past it, idle ones are dropped first, then the oldest.
const MAX_SESSIONS: usize = 10_000;

/// A signed-in user.
#[derive(Clone)]
pub struct SignedIn {
    /// The validated ID token's claims.
    pub claims: serde_json::Value,
    /// The ID token, sent back as `id_token_hint` at sign-out.
    pub id_token: Option<String>,
    /// The refresh token, when the authority gave one.
    pub refresh_token: Option<Zeroizing<String>>,
    /// When the access token expires.
    pub access_expires: OffsetDateTime,
    /// When the user signed in.
    pub signed_in_at: OffsetDateTime,
    /// How often the tokens were renewed with the refresh token.
    pub renewals: u32,
    /// When they were last renewed.
    pub last_renewed: Option<OffsetDateTime>,
}

struct Session {
    last_seen: Instant,
    pending: Vec<(Instant, AuthCodeRequest)>,
    user: Option<SignedIn>,
}

/// All sessions of the app.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

/// A fresh random session id (256 bits).
pub fn new_id() -> Option<String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

impl Sessions {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Session>) -> T) -> T {
        let mut map = match self.map.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut map)
    }

    /// The signed-in user of session `id`, if any.
    pub fn user(&self, id: &str) -> Option<SignedIn> {
        self.with(|map| {
            let session = map.get_mut(id)?;
            if session.last_seen.elapsed() > IDLE_LIMIT {
                map.remove(id);
                return None;
            }
            session.last_seen = Instant::now();
            session.user.clone()
        })
    }

    /// Remembers a sign-in request in session `id` (created when new).
    pub fn add_pending(&self, id: &str, request: AuthCodeRequest) {
        self.with(|map| {
            if !map.contains_key(id) && map.len() >= MAX_SESSIONS {
                prune(map);
            }
            let session = map.entry(id.to_owned()).or_insert_with(|| Session {
                last_seen: Instant::now(),
                pending: Vec::new(),
                user: None,
            });
            session.last_seen = Instant::now();
            session.pending.retain(|(at, _)| at.elapsed() < PENDING_LIMIT);
            if session.pending.len() >= PENDING_PER_SESSION {
                session.pending.remove(0);
            }
            session.pending.push((Instant::now(), request));
        })
    }

    /// Takes the sign-in request whose state came back (each is used once).
    pub fn take_pending(&self, id: &str, state: &str) -> Option<AuthCodeRequest> {
        self.with(|map| {
            let session = map.get_mut(id)?;
            let at = session.pending.iter().position(|(_, r)| {
                aws_lc_rs::constant_time::verify_slices_are_equal(r.state.as_bytes(), state.as_bytes()).is_ok()
            })?;
            let (started, request) = session.pending.remove(at);
            (started.elapsed() < PENDING_LIMIT).then_some(request)
        })
    }

    /// Records the signed-in user under a new session id (the one the browser had before
    /// sign-in is dropped, so a session id planted before sign-in is worth nothing after it);
    /// returns the new id.
    pub fn sign_in(&self, old_id: &str, new_id: String, user: SignedIn) -> String {
        self.with(|map| {
            map.remove(old_id);
            if map.len() >= MAX_SESSIONS {
                prune(map);
            }
            map.insert(
                new_id.clone(),
                Session {
                    last_seen: Instant::now(),
                    pending: Vec::new(),
                    user: Some(user),
                },
            );
            new_id
        })
    }

    /// Replaces the user of session `id` after a renewal, if the session still has one.
    pub fn update_user(&self, id: &str, update: impl FnOnce(&mut SignedIn)) -> Option<SignedIn> {
        self.with(|map| {
            let user = map.get_mut(id)?.user.as_mut()?;
            update(user);
            Some(user.clone())
        })
    }

    /// Forgets session `id`; returns its user, if one was signed in.
    pub fn end(&self, id: &str) -> Option<SignedIn> {
        self.with(|map| map.remove(id)?.user)
    }
}

fn prune(map: &mut HashMap<String, Session>) {
    map.retain(|_, s| s.last_seen.elapsed() < IDLE_LIMIT);
    if map.len() >= MAX_SESSIONS
        && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.last_seen).map(|(id, _)| id.clone())
    {
        map.remove(&oldest);
    }
}

/// The session id in a `Cookie` header, if any.
pub fn from_cookie_header(header: &str) -> Option<&str> {
    header.split(';').find_map(|part| {
        let (name, value) = part.trim().split_once('=')?;
        (name == COOKIE && !value.is_empty() && value.len() <= 64).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(state: &str) -> AuthCodeRequest {
        AuthCodeRequest {
            url: "https://id/authorize".into(),
            state: state.into(),
            nonce: "n".into(),
            pkce_verifier: Zeroizing::new("v".into()),
            redirect_uri: "http://localhost:3000/auth/redirect".into(),
        }
    }

    #[test]
    fn a_state_is_redeemed_once_and_only_in_its_session() {
        let sessions = Sessions::default();
        sessions.add_pending("s1", request("a"));
        sessions.add_pending("s1", request("b"));
        assert!(sessions.take_pending("s2", "a").is_none());
        assert!(sessions.take_pending("s1", "c").is_none());
        assert_eq!(sessions.take_pending("s1", "a").unwrap().state, "a");
        assert!(sessions.take_pending("s1", "a").is_none());
        assert_eq!(sessions.take_pending("s1", "b").unwrap().state, "b");
    }

    #[test]
    fn only_the_last_few_sign_ins_are_kept() {
        let sessions = Sessions::default();
        for state in ["1", "2", "3", "4", "5"] {
            sessions.add_pending("s", request(state));
        }
        assert!(sessions.take_pending("s", "1").is_none());
        assert!(sessions.take_pending("s", "5").is_some());
    }

    #[test]
    fn reads_the_cookie() {
        assert_eq!(from_cookie_header("a=1; webapp_session=xyz; b=2"), Some("xyz"));
        assert_eq!(from_cookie_header("webapp_session="), None);
        assert_eq!(from_cookie_header("other=1"), None);
        let id = new_id().unwrap();
        assert_eq!(id.len(), 43);
        assert_ne!(id, new_id().unwrap());
    }
}
