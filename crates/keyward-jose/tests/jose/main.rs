//! Cross-checks of keyward-jose against standard vectors and the real OpenSSL CLI, and the
//! attacks a JWS verifier must refuse.

mod accepted;
mod attacks;
mod common;
mod openssl;
mod rfc7520;
