//! `keyward master-key new`: a master key for the production profile, in a private file or in
//! base64 on stdout.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_pki::sealing::MasterKey;

use crate::cli::MasterKeyCommand;
use crate::files::{self, Access};

pub fn run(cmd: MasterKeyCommand) -> anyhow::Result<()> {
    match cmd {
        MasterKeyCommand::New { out } => {
            let key = MasterKey::generate().context("cannot make a master key")?;
            match out {
                Some(path) => {
                    files::write_new(&path, &key, Access::OwnerOnly, false)?;
                    eprintln!(
                        "Wrote a master key to {} (mode 0600). Start with: keyward serve --profile production --master-key-file {}",
                        path.display(),
                        path.display()
                    );
                }
                None => println!("{}", zeroize::Zeroizing::new(STANDARD.encode(&key)).as_str()),
            }
            Ok(())
        }
    }
}
