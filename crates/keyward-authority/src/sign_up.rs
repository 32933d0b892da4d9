//! Self-service sign-up from the hosted page. The form is checked first (email, display name,
//! password policy), then the client address's share of sign-ups is taken
//! ([`crate::sign_up_limit`]). Then either:
//!
//! - with mail configured ([`Config::smtp`](crate::Config)), a one-time code goes to the
//!   address and the account is created only when the code comes back
//!   ([`Authority::start_sign_up`], [`Authority::verify_sign_up`], [`crate::sign_up_code`]);
//!   such accounts' ID tokens say `email_verified: true`;
//! - without, the account is created at once, as in development ([`Authority::sign_up`]),
//!   with `email_verified: false`.
//!
//! A sign-up naming a taken email counts against the address like a failed sign-in, since it
//! tells whether an account exists.

use std::net::IpAddr;
use std::time::Instant;

use keyward_store::User;
use uuid::Uuid;

use crate::authority::Authority;
use crate::error::Error;
use crate::password;
use crate::sign_up_code::{self, CODE_LIFETIME_SECONDS, CodeRefusal, PendingSignUp, new_code};
use crate::signin::{SignInError, SignUp};
use crate::throttle::Attempt;
use crate::throttle::shared::{self, Refused};
use crate::users::{self, NewUser};

/// Where a sign-up stands after its form was accepted.
#[derive(Debug)]
pub enum SignUpStep {
    /// The account exists (no mail is configured: nothing to verify).
    Created(User),
    /// A code went to the address; the sealed pending sign-up ([`PendingSignUp::seal`]) goes
    /// in the "enter the code" page.
    CodeSent {
        /// The sealed pending sign-up.
        sealed: String,
        /// The address the code went to, normalised.
        email: String,
    },
}

impl Authority {
    /// Creates an account from the sign-up page at once, without verifying its email
    /// (`email_verified: false`). Refused with [`SignInError::CodeRequired`] when mail is
    /// configured: then sign-up goes through [`Authority::start_sign_up`].
    pub async fn sign_up(
        &self,
        tenant_id: Uuid,
        form: SignUp<'_>,
        address: Option<IpAddr>,
    ) -> Result<User, SignInError> {
        if self.config.sign_up && self.config.smtp.is_some() {
            return Err(SignInError::CodeRequired);
        }
        match self.start_sign_up(tenant_id, form, address).await? {
            SignUpStep::Created(user) => Ok(user),
            SignUpStep::CodeSent { .. } => Err(SignInError::CodeRequired),
        }
    }

    /// Checks a sign-up form sent from `address`; creates the account, or, with mail
    /// configured, sends a code to its address.
    pub async fn start_sign_up(
        &self,
        tenant_id: Uuid,
        form: SignUp<'_>,
        address: Option<IpAddr>,
    ) -> Result<SignUpStep, SignInError> {
        if !self.config.sign_up {
            return Err(SignInError::SignUpOff);
        }
        let email = users::normalize_email(form.email).map_err(account)?;
        let display_name = users::check_display_name(form.display_name).map_err(account)?;
        password::check_policy(&form.password, &email).map_err(account)?;
        // Sign-up tells whether an email is taken: count that against the address like a failed
        // sign-in, so it cannot be used to list accounts quickly. Reserved before anything is
        // looked up or hashed: concurrent probes cannot outrun the limit, and one whose client
        // goes away counts as a failure.
        let attempt = Attempt::from_address(address);
        let reservation = shared::begin(&self.throttle, self.cluster.as_ref(), &attempt)
            .await
            .map_err(|refused| match refused {
                Refused::Throttled(wait) => SignInError::SignUpThrottled(wait),
                Refused::Server(e) => SignInError::Server(e),
            })?;
        match self.store.user_by_email(tenant_id, &email).await {
            Ok(None) => {}
            Ok(Some(_)) => {
                reservation.failed();
                return Err(SignInError::EmailTaken);
            }
            Err(e) => {
                reservation.release().await;
                return Err(SignInError::Server(e.into()));
            }
        }
        reservation.release().await;
        // Every sign-up that gets this far creates an account or sends a mail: limited per
        // address, successful ones included.
        self.sign_ups
            .take_shared(self.cluster.as_ref(), address)
            .await
            .map_err(SignInError::Server)?
            .map_err(SignInError::SignUpThrottled)?;
        let Some(smtp) = &self.config.smtp else {
            let new = NewUser {
                email,
                display_name: Some(display_name),
                password: form.password,
                enabled: true,
                email_verified: false,
            };
            return match self.create_user(tenant_id, new).await {
                Ok(user) => {
                    tracing::info!(tenant = %tenant_id, user = %user.id, "account created by sign-up (email not verified: no mail configured)");
                    Ok(SignUpStep::Created(user))
                }
                Err(Error::UserExists(_)) => Err(SignInError::EmailTaken),
                Err(Error::Account(e)) => Err(SignInError::Account(e)),
                Err(e) => Err(SignInError::Server(e)),
            };
        };
        let password_hash = self.passwords.hash(form.password).await.map_err(SignInError::Server)?;
        let code = new_code().map_err(SignInError::Server)?;
        let pending = PendingSignUp::new(tenant_id, email.clone(), display_name, password_hash, &code, self.now())
            .map_err(SignInError::Server)?;
        let sealed = pending.seal(&self.master).map_err(SignInError::Server)?;
        let body = format!(
            "Your verification code is: {}\n\nEnter it on the page where you are creating your account. \
             It expires in {} minutes.\n\nIf you did not ask for this code, someone typed your address by \
             mistake: ignore this message, and no account is created.\n",
            code.as_str(),
            CODE_LIFETIME_SECONDS / 60
        );
        if let Err(e) = smtp.send(&email, "Your verification code", &body).await {
            tracing::warn!(tenant = %tenant_id, error = %e, "the sign-up code could not be mailed");
            return Err(SignInError::MailNotSent);
        }
        tracing::info!(tenant = %tenant_id, sign_up = %pending.id, "sign-up code mailed");
        Ok(SignUpStep::CodeSent { sealed, email })
    }

    /// Creates the account of a pending sign-up (`sealed`, from [`SignUpStep::CodeSent`]) when
    /// `code` is the one mailed, within its lifetime, before too many wrong tries, once.
    pub async fn verify_sign_up(&self, tenant_id: Uuid, sealed: &str, code: &str) -> Result<User, SignInError> {
        if !self.config.sign_up {
            return Err(SignInError::SignUpOff);
        }
        let pending = PendingSignUp::open(&self.master, tenant_id, sealed).ok_or(SignInError::CodeExpired)?;
        if pending.expired(self.now()) {
            return Err(SignInError::CodeExpired);
        }
        // Servers sharing a database count the wrong codes there too, before this one checks.
        let shared = self
            .cluster
            .as_ref()
            .map(|cluster| (cluster, sign_up_code::shared_bucket(&pending)));
        if let Some((cluster, bucket)) = &shared {
            match cluster
                .begin_attempt(std::slice::from_ref(bucket), sign_up_code::SHARED_LIMITS)
                .await
            {
                Ok(None) => {}
                Ok(Some(_)) => return Err(SignInError::TooManyCodes),
                Err(e) => return Err(SignInError::Server(e.into())),
            }
        }
        match self.codes.check(&pending, code, Instant::now()) {
            Ok(()) => {
                if let Some((cluster, bucket)) = &shared
                    && let Err(e) = cluster.clear_attempts(&bucket.name).await
                {
                    tracing::warn!(error = %e, "the shared count of a sign-up's codes could not be cleared");
                }
            }
            Err(CodeRefusal::Wrong(left)) => {
                tracing::info!(tenant = %tenant_id, sign_up = %pending.id, "sign-up code refused: wrong");
                return Err(SignInError::WrongCode(left));
            }
            Err(CodeRefusal::TooManyAttempts) => return Err(SignInError::TooManyCodes),
            Err(CodeRefusal::Used) => return Err(SignInError::CodeUsed),
            Err(CodeRefusal::Busy) => {
                return Err(SignInError::SignUpThrottled(std::time::Duration::from_secs(60)));
            }
        }
        let user = User {
            id: Uuid::new_v4(),
            tenant_id,
            email: pending.email.clone(),
            display_name: pending.display_name.clone(),
            password_hash: pending.password_hash.clone(),
            enabled: true,
            email_verified: true,
            directory_roles: Vec::new(),
            created: self.now(),
            version: 1,
        };
        match self.store.insert_user(&user).await {
            Ok(()) => {
                tracing::info!(tenant = %tenant_id, user = %user.id, "account created by sign-up, email verified");
                Ok(user)
            }
            Err(keyward_store::Error::Conflict(_)) => Err(SignInError::EmailTaken),
            Err(e) => {
                self.codes.unuse(&pending);
                Err(SignInError::Server(e.into()))
            }
        }
    }
}

fn account(e: Error) -> SignInError {
    match e {
        Error::Account(e) => SignInError::Account(e),
        e => SignInError::Server(e),
    }
}
