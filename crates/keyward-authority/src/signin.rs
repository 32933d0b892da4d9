//! The decisions of the hosted sign-in and sign-up pages, apart from their HTML: who may sign
//! in (throttled per account and per address, one answer for a wrong password and an unknown
//! account, checked against a dummy hash so both take the same time), and who may sign up
//! (throttled per address, since it tells whether an email is taken). Refusals are typed
//! ([`SignInError`]); the pages show their message.

use std::net::IpAddr;
use std::time::Duration;

use keyward_store::User;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::authority::Authority;
use crate::error::{AccountError, Error};
use crate::throttle::Attempt;
use crate::throttle::shared::{self, Refused};
use crate::users;

/// Why a sign-in or a sign-up was refused.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The form lacks the email or the password.
    #[error("Enter your email address and your password.")]
    MissingCredentials,
    /// No such account, or the wrong password: one answer for both.
    #[error("Your email address or password is incorrect.")]
    WrongCredentials,
    /// Too many failed sign-ins for the account or from the address.
    #[error("Too many failed sign-in attempts. Wait {} minute(s), then try again.", minutes(*.0))]
    Throttled(Duration),
    /// The account is disabled.
    #[error("Your account is disabled. Contact the administrator of this application.")]
    Disabled,
    /// Sign-up is off: accounts are made by an administrator.
    #[error("New accounts are created by an administrator here.")]
    SignUpOff,
    /// Too many sign-ups from the address: ones that hit a taken email, or sign-ups at all.
    #[error("Too many attempts. Wait {} minute(s), then try again.", minutes(*.0))]
    SignUpThrottled(Duration),
    /// Sign-up needs a code mailed to the address: [`Authority::start_sign_up`].
    #[error("Enter the code sent to your email address.")]
    CodeRequired,
    /// The code entered is not the one mailed.
    #[error("That code is not right. Check the latest message and try again ({0} tries left).")]
    WrongCode(u32),
    /// Too many wrong codes: the sign-up must start over.
    #[error("Too many wrong codes. Start again to get a new code.")]
    TooManyCodes,
    /// The code's lifetime has passed (or the page was damaged).
    #[error("The code has expired. Start again to get a new code.")]
    CodeExpired,
    /// The code was used already.
    #[error("This code was already used. Sign in with your new account instead.")]
    CodeUsed,
    /// The code could not be mailed.
    #[error("We could not send a code to this email address. Check it, or try again in a few minutes.")]
    MailNotSent,
    /// An account has this email.
    #[error("An account with this email address already exists. Sign in instead.")]
    EmailTaken,
    /// The email, the display name or the password was refused.
    #[error(transparent)]
    Account(AccountError),
    /// Something failed on the server.
    #[error(transparent)]
    Server(Error),
}

/// Whole minutes to wait, at least one.
fn minutes(wait: Duration) -> u64 {
    wait.as_secs().div_ceil(60).max(1)
}

/// What a sign-up form sends.
pub struct SignUp<'a> {
    /// The email.
    pub email: &'a str,
    /// The display name.
    pub display_name: &'a str,
    /// The password.
    pub password: Zeroizing<String>,
}

impl Authority {
    /// Checks an email and password sent to the sign-in page of the tenant from `address`;
    /// returns the account, enabled, whose password it is.
    pub async fn sign_in(
        &self,
        tenant_id: Uuid,
        email: &str,
        password: Zeroizing<String>,
        address: Option<IpAddr>,
    ) -> Result<User, SignInError> {
        if email.is_empty() || password.is_empty() {
            return Err(SignInError::MissingCredentials);
        }
        if email.len() > users::MAX_EMAIL_LEN || password.chars().count() > crate::password::MAX_PASSWORD_CHARS {
            return Err(SignInError::WrongCredentials);
        }
        let attempt = Attempt::new(tenant_id, email, address);
        // Counted from now on, and a failure unless it proves otherwise: a client that goes away
        // mid-hash (its request cancelled, this future dropped) has used up an attempt.
        let reservation = shared::begin(&self.throttle, self.cluster.as_ref(), &attempt)
            .await
            .map_err(|refused| match refused {
                Refused::Throttled(wait) => SignInError::Throttled(wait),
                Refused::Server(e) => SignInError::Server(e),
            })?;
        // Unknown accounts are checked against a dummy hash: same answer, same time.
        let user = match self.user_by_email(tenant_id, email).await {
            Ok(user) => Some(user),
            Err(Error::UserNotFound(_)) => None,
            Err(e) => {
                reservation.release().await;
                return Err(SignInError::Server(e));
            }
        };
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let matched = match self.passwords.verify(password, hash).await {
            Ok(matched) => matched,
            Err(e) => {
                reservation.release().await;
                return Err(SignInError::Server(e));
            }
        };
        let Some(user) = user.filter(|_| matched) else {
            reservation.failed();
            tracing::info!(tenant = %tenant_id, "sign-in refused: wrong email or password");
            return Err(SignInError::WrongCredentials);
        };
        if !user.enabled {
            reservation.release().await;
            return Err(SignInError::Disabled);
        }
        reservation.succeeded().await;
        Ok(user)
    }
}

#[cfg(test)]
mod tests;
