//! `keyward hosts`: the hosts-file lines that send Microsoft's host names to a server running
//! in the Azure host names mode (`keyward serve --azure-hosts`), printed or written as a marked
//! block, and how to trust that mode's CA in test processes only.

use anyhow::Context;
use keyward_server::{AdminInfo, DataDir};

use crate::cli::HostsArgs;

/// The first line of the block `--write` adds.
const BEGIN: &str = "# keyward azure-hosts: begin (keyward hosts --remove takes this block out)";
/// Its last line.
const END: &str = "# keyward azure-hosts: end";

pub fn run(args: HostsArgs) -> anyhow::Result<()> {
    let dir = DataDir::new(&args.data);
    let admin: Option<AdminInfo> = dir.read_json("admin/admin.json").ok();
    if admin.is_none() {
        eprintln!(
            "keyward: no server data in {} (start `keyward serve --azure-hosts` there first): TENANT.ciamlogin.com lines need --tenant NAME",
            args.data.display()
        );
    }
    let names = host_names(admin.as_ref(), &args.tenants, &args.vaults);
    let block = block(&args.address.to_string(), &names);
    let ca = dir.path(keyward_server::AZURE_HOSTS_CA);
    if args.write || args.remove {
        let file = &args.hosts_file;
        let before = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
        let after = replace_block(&before, (!args.remove).then_some(block.as_str()));
        if after == before {
            println!("{} already says this; nothing changed", file.display());
            return Ok(());
        }
        let backup = file.with_file_name(format!(
            "{}.keyward-backup",
            file.file_name().and_then(|n| n.to_str()).unwrap_or("hosts")
        ));
        std::fs::write(&backup, &before).with_context(|| format!("cannot write the backup {}", backup.display()))?;
        // In place (not a rename): /etc/hosts is often a mount of its own in containers.
        std::fs::write(file, &after).with_context(|| {
            format!(
                "cannot write {} (run as root, or give --hosts-file; the backup is {})",
                file.display(),
                backup.display()
            )
        })?;
        let done = if args.remove {
            "removed the block from"
        } else {
            "wrote the block to"
        };
        println!("{done} {} (backup: {})", file.display(), backup.display());
    } else {
        println!(
            "# Add these lines to {} (or run: keyward hosts --write):",
            args.hosts_file.display()
        );
        print!("{block}");
    }
    if !args.remove {
        println!();
        println!(
            "# Trust the Azure-hosts CA in test processes only (it vouches for Microsoft's names; never trust it system-wide):"
        );
        println!("export NODE_EXTRA_CA_CERTS={}", ca.display());
        println!(
            "export REQUESTS_CA_BUNDLE={}   # Python requests and azure-identity",
            ca.display()
        );
        if !ca.exists() {
            println!(
                "# ({} does not exist yet: start the server once with --azure-hosts)",
                ca.display()
            );
        }
    }
    Ok(())
}

/// Every name the block sends to the server: the sign-in and management hosts, each tenant's
/// `NAME.ciamlogin.com` (and the default tenant's `ID.ciamlogin.com`, Entra's issuer host), and
/// each vault's `NAME.vault.azure.net`.
fn host_names(admin: Option<&AdminInfo>, tenants: &[String], vaults: &[String]) -> Vec<String> {
    let mut names: Vec<String> = keyward_server::azure_hosts::LOGIN_HOSTS
        .iter()
        .map(|h| (*h).to_owned())
        .collect();
    names.push(keyward_server::azure_hosts::MANAGEMENT_HOST.to_owned());
    let ciam = keyward_server::azure_hosts::CIAM_DOMAIN;
    if let Some(admin) = admin {
        names.push(format!("{}.{ciam}", admin.tenant));
        names.push(format!("{}.{ciam}", admin.tenant_id));
    }
    for tenant in tenants {
        names.push(format!("{}.{ciam}", tenant.to_lowercase()));
    }
    let vault_domain = keyward_server::azure_hosts::VAULT_DOMAIN;
    if vaults.is_empty() {
        names.push(format!("{}.{vault_domain}", keyward_server::DEFAULT_VAULT));
    }
    for vault in vaults {
        names.push(format!("{}.{vault_domain}", vault.to_lowercase()));
    }
    names.dedup();
    names
}

/// The marked block: one line per name.
fn block(address: &str, names: &[String]) -> String {
    let mut block = format!("{BEGIN}\n");
    for name in names {
        block.push_str(&format!("{address} {name}\n"));
    }
    block.push_str(END);
    block.push('\n');
    block
}

/// `hosts` with its marked block replaced by `block` (added at the end if it had none), or
/// taken out (`None`). Everything outside the markers stays as it was.
fn replace_block(hosts: &str, block: Option<&str>) -> String {
    let mut kept = String::with_capacity(hosts.len());
    let mut inside = false;
    for line in hosts.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed == BEGIN {
            inside = true;
        } else if inside && trimmed == END {
            inside = false;
        } else if !inside {
            kept.push_str(line);
        }
    }
    if let Some(block) = block {
        if !kept.is_empty() && !kept.ends_with('\n') {
            kept.push('\n');
        }
        kept.push_str(block);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_is_added_replaced_and_removed_leaving_the_rest_alone() {
        let original = "127.0.0.1 localhost\n::1 localhost ip6-localhost\n10.0.0.5 db # no newline";
        let first = block(
            "127.0.0.1",
            &["login.microsoftonline.com".into(), "contoso.ciamlogin.com".into()],
        );
        let added = replace_block(original, Some(&first));
        assert!(added.starts_with(original), "{added}");
        assert!(added.contains("\n127.0.0.1 contoso.ciamlogin.com\n"), "{added}");
        assert_eq!(replace_block(&added, Some(&first)), added, "idempotent");

        let second = block("10.1.2.3", &["login.microsoftonline.com".into()]);
        let replaced = replace_block(&added, Some(&second));
        assert!(!replaced.contains("contoso.ciamlogin.com"), "{replaced}");
        assert_eq!(replaced.matches(BEGIN).count(), 1);
        assert!(replaced.contains("10.1.2.3 login.microsoftonline.com"));

        let removed = replace_block(&replaced, None);
        assert_eq!(removed.trim_end(), original);
    }

    #[test]
    fn the_names_cover_the_tenant_by_name_and_by_id_and_each_vault() {
        let admin = AdminInfo {
            app_id: "x".into(),
            tenant_id: "6d1f6c57-0000-4000-8000-000000000001".into(),
            tenant: "contoso".into(),
        };
        let names = host_names(Some(&admin), &["Fabrikam".into()], &["kv-article".into()]);
        for expected in [
            "login.microsoftonline.com",
            "management.azure.com",
            "contoso.ciamlogin.com",
            "6d1f6c57-0000-4000-8000-000000000001.ciamlogin.com",
            "fabrikam.ciamlogin.com",
            "kv-article.vault.azure.net",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
        }
    }
}
