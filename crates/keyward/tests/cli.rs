//! Integration tests of the `keyward` binary against the real OpenSSL command line tool.
//!
//! Every file is made at test time, in a temporary directory, by `keyward` or by `openssl`,
//! and then read by the other. The one exception is the Azure Key Vault fixtures in
//! `../shared/fixtures/azure-key-vault`, which are real output of the service.
//!
//! The test binary is the crate root, so its modules in `tests/cli/` are named by `#[path]`.

#[path = "cli/common.rs"]
mod common;

#[path = "cli/bad_input.rs"]
mod bad_input;
#[path = "cli/cert_new_openssl.rs"]
mod cert_new_openssl;
#[path = "cli/extract_key.rs"]
mod extract_key;
#[path = "cli/key_vault.rs"]
mod key_vault;
#[path = "cli/openssl_files.rs"]
mod openssl_files;
#[path = "cli/terminal.rs"]
mod terminal;
