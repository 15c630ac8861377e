//! `corrigo certs init|issue`: the cell's certificate authority and node certificates for the secure profile
//! (`[bus.security]`; see `bus::certs` and `bus::security` for the files and the roles).

use anyhow::Result;
use bus::security::{Role, role_names};
use clap::Subcommand;
use corrigo_app::exit;
use std::path::PathBuf;

/// The `corrigo certs` subcommands.
#[derive(Subcommand, Debug)]
pub enum CertsCmd {
    /// Make the cell's CA: ca.pem (copy to every machine), ca.key (mode 0600, keep it here) and roles.toml.
    Init {
        /// Folder of the cell's certificates (bus.security.dir).
        #[arg(long, default_value = "certs")]
        dir: PathBuf,
        /// Replace an existing CA (every certificate it signed stops working).
        #[arg(long)]
        force: bool,
    },
    /// Issue (or rotate) a node's key and certificate, signed by the CA, and record its role in roles.toml.
    Issue {
        /// Node name: the certificate's common name, bus.security.node on that machine.
        node: String,
        /// cell, router, controller, camera, actor, learner, operator, teleop or observer (what each may put and
        /// read: `bus::security`).
        #[arg(long)]
        role: String,
        /// Folder of the cell's certificates (bus.security.dir).
        #[arg(long, default_value = "certs")]
        dir: PathBuf,
        /// Validity, days.
        #[arg(long, default_value_t = bus::certs::NODE_DAYS)]
        days: u32,
    },
}

/// Runs `corrigo certs …`; returns the exit code.
pub fn run(cmd: CertsCmd) -> Result<i32> {
    match cmd {
        CertsCmd::Init { dir, force } => {
            let files = bus::certs::init(&dir, force)?;
            println!(
                "CA certificate: {} (copy it, with roles.toml, to every machine of the cell)",
                files.cert.display()
            );
            println!("CA private key: {} (mode 0600; keep it on this machine)", files.key.display());
            println!("role registry:  {}", files.registry.display());
            if force {
                println!("a new CA: issue every node's certificate again");
            }
        }
        CertsCmd::Issue { node, role, dir, days } => {
            let Some(parsed) = Role::parse(&role) else {
                eprintln!("unknown role {role:?}; expected one of {}", role_names());
                return Ok(exit::USAGE);
            };
            let files = bus::certs::issue(&dir, &node, parsed, days)?;
            let verb = if files.rotated { "rotated" } else { "issued" };
            println!("{verb} {node} ({parsed}), valid {days} days:");
            println!("  certificate: {}", files.cert.display());
            println!("  private key: {} (mode 0600; a node refuses a key others can read)", files.key.display());
            println!(
                "  copy both, with {} and {}, to that machine; set [bus.security] node = {node:?} there, and copy the \
                 updated roles.toml to every machine of the cell",
                bus::security::ca_cert_path(&dir).display(),
                bus::security::registry_path(&dir).display()
            );
        }
    }
    Ok(exit::OK)
}
