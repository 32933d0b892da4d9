//! Entry points for the fuzz targets in `fuzz/`; not part of the API.
//!
//! Each function takes the fuzzer's bytes as what a server sent (a challenge header, a token
//! endpoint's body, a vault's body) and feeds them to the parser the client reads it with.

use reqwest::StatusCode;
use time::OffsetDateTime;

use crate::client::{access_token, server_error};
use crate::vault::{certificate_bundle, into_result, parse_challenge, secret_bundle};
use crate::web::UserTokenResponse;

/// A vault's `WWW-Authenticate` header.
pub fn challenge(data: &[u8]) {
    let header = String::from_utf8_lossy(data);
    if let Some(challenge) = parse_challenge(&header) {
        assert!(challenge.resource.is_some() || challenge.scope.is_some());
        let _ = challenge.authorization;
    }
}

/// A token endpoint's body, as a success (an access token for the client credentials grant,
/// user tokens for the code and refresh grants) and as an error.
pub fn token_response(data: &[u8]) {
    let started = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a valid time");
    if let Ok(token) = access_token(data, started) {
        assert!(token.usable_until <= token.expires_on);
        assert!(token.refresh_on <= token.expires_on);
    }
    let _ = serde_json::from_slice::<UserTokenResponse>(data);
    for status in [400, 401, 429, 500] {
        let _ = server_error(status, data).to_string();
    }
}

/// A vault's body, as a success (then read as a certificate and as a secret bundle) and as an
/// error.
pub fn vault_response(data: &[u8]) {
    if let Ok(value) = into_result((StatusCode::OK, None, data.to_vec())) {
        let _ = certificate_bundle(value.clone());
        let _ = secret_bundle(value);
    }
    for status in [StatusCode::UNAUTHORIZED, StatusCode::NOT_FOUND, StatusCode::CONFLICT] {
        if let Err(e) = into_result((status, None, data.to_vec())) {
            let _ = e.to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fuzz_entry_points_take_real_responses() {
        challenge(br#"Bearer authorization="https://login.microsoftonline.com/t", resource="https://vault.azure.net""#);
        token_response(br#"{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0"}"#);
        vault_response(br#"{"error":{"code":"SecretNotFound","message":"not found"}}"#);
    }

    /// Every input of the kept corpora still runs without a panic (`fuzz/README.md`).
    #[test]
    fn the_kept_fuzz_corpora_replay() {
        keyward_pki::fuzzing::replay_corpus("vault_challenge", challenge);
        keyward_pki::fuzzing::replay_corpus("token_response", token_response);
        keyward_pki::fuzzing::replay_corpus("vault_response", vault_response);
    }
}
