//! The `keyward` binary against the real OpenSSL command line tool.
//!
//! Every file is made at test time, in a temporary directory, by `keyward` or by `openssl`,
//! and then read by the other. The one exception is the Azure Key Vault fixtures in
//! `../shared/fixtures/azure-key-vault`, which are real output of the service.

mod support;

mod bad_input;
mod cert_new_openssl;
mod extract_key;
mod key_vault;
mod openssl_files;
mod terminal;
