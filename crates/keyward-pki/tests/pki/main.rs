//! keyward-pki against real files: Azure Key Vault's own PFX and certificate shapes, and the
//! server's local CA checked by the real OpenSSL CLI.

mod key_vault_shapes;
mod local_ca;
mod spki_walk;
