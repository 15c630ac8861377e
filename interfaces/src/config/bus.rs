//! `[bus]`: how this process joins the zenoh network.

use super::Validator;
use serde::{Deserialize, Serialize};

/// zenoh session mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BusMode {
    /// Peer-to-peer (default): nodes talk directly.
    #[default]
    Peer,
    /// Client of a router (`corrigo router` or `zenohd`), for cells spanning machines behind a router.
    Client,
}

/// `[bus]` section.
///
/// Default: peer mode, listening on `tcp/127.0.0.1:7447` (loopback only) and connecting to the same endpoint, so
/// the first process on a machine becomes the hub and every later one joins it; multicast scouting off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusConfig {
    /// Session mode.
    pub mode: BusMode,
    /// Endpoints to listen on (`tcp/<ip>:<port>`, `udp/…`). Loopback unless you want other machines to reach it.
    pub listen: Vec<String>,
    /// Endpoints to connect to (other peers or a router).
    pub connect: Vec<String>,
    /// Discover peers by UDP multicast on the local network.
    pub multicast_scouting: bool,
    /// Endpoints a `corrigo router` listens on. The default, `tcp/0.0.0.0:7447`, is every interface (a router is
    /// for cells spanning machines); the router warns when it listens on every interface, loudly without
    /// `[bus.security]` (then anyone who reaches the port can join the cell).
    pub router_listen: Vec<String>,
    /// `[bus.security]`: TLS with mutual authentication and access control (off by default).
    pub security: BusSecurity,
}

/// `[bus.security]`: the secure cell profile.
///
/// When enabled, every link is TLS (`tls/<host>:<port>` endpoints) and both sides present a certificate signed by
/// the cell's CA (`corrigo certs init`, `corrigo certs issue NODE --role ROLE`); a peer without one cannot join.
/// Access control is then default-deny: each role may put, and subscribe to, only the keys of its own table
/// (`bus::security`: the controller its arm state, the actor its pose targets and transitions, the learner its
/// weights and acknowledgements, the operator `operator/command`…), and every certified node its own e-stop key
/// `<node>/estop`; wildcard puts are refused. The role of each node comes from the registry `roles.toml` beside the
/// CA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusSecurity {
    /// Turns the secure profile on.
    pub enabled: bool,
    /// Folder of the cell's certificates: `ca.pem` (the CA's certificate), `roles.toml` (node → role registry)
    /// and this node's `<node>.pem` / `<node>.key`. Relative to the working directory.
    pub dir: String,
    /// The certificate this process presents: `<dir>/<node>.pem` and `<dir>/<node>.key` (its common name).
    pub node: String,
}

impl Default for BusSecurity {
    fn default() -> Self {
        Self { enabled: false, dir: "certs".into(), node: String::new() }
    }
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            mode: BusMode::Peer,
            listen: vec!["tcp/127.0.0.1:7447".into()],
            connect: vec!["tcp/127.0.0.1:7447".into()],
            multicast_scouting: false,
            router_listen: vec!["tcp/0.0.0.0:7447".into()],
            security: BusSecurity::default(),
        }
    }
}

/// Checks that an endpoint looks like `<proto>/<address>` with a known protocol.
pub fn endpoint_ok(e: &str) -> bool {
    match e.split_once('/') {
        Some((proto, addr)) => matches!(proto, "tcp" | "udp" | "tls") && !addr.is_empty(),
        None => false,
    }
}

impl BusConfig {
    pub(crate) fn validate(&self, v: &mut Validator) {
        for (key, list) in
            [("bus.listen", &self.listen), ("bus.connect", &self.connect), ("bus.router_listen", &self.router_listen)]
        {
            for (i, e) in list.iter().enumerate() {
                let tls = e.starts_with("tls/");
                if !endpoint_ok(e) {
                    v.push(&format!("{key}[{i}]"), format!("{e:?}"), "an endpoint like \"tcp/127.0.0.1:7447\"");
                } else if self.security.enabled && !tls {
                    v.push(
                        &format!("{key}[{i}]"),
                        format!("{e:?}"),
                        "a \"tls/<host>:<port>\" endpoint when bus.security.enabled = true",
                    );
                } else if !self.security.enabled && tls {
                    v.push(
                        &format!("{key}[{i}]"),
                        format!("{e:?}"),
                        "a tcp/ or udp/ endpoint, or set bus.security.enabled = true for tls/",
                    );
                }
            }
        }
        if self.security.enabled {
            if self.security.dir.trim().is_empty() {
                v.push(
                    "bus.security.dir",
                    "\"\"".into(),
                    "the folder holding ca.pem, roles.toml and the node's certificate",
                );
            }
            if !crate::keys::is_valid_chunk(&self.security.node) {
                v.push(
                    "bus.security.node",
                    format!("{:?}", self.security.node),
                    "this node's certificate name (letters, digits, '_' or '-'), as given to `corrigo certs issue`",
                );
            }
        }
        if self.mode == BusMode::Client && self.connect.is_empty() {
            v.push("bus.connect", "[]".into(), "at least one router endpoint when bus.mode = \"client\"");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(cfg: &BusConfig) -> Vec<String> {
        let mut v = Validator::default();
        cfg.validate(&mut v);
        v.into_problems().into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn security_is_off_by_default_and_tls_endpoints_need_it() {
        let cfg: BusConfig = toml::from_str("").expect("empty [bus]");
        assert!(!cfg.security.enabled);
        assert!(problems(&cfg).is_empty());
        let cfg = BusConfig { connect: vec!["tls/10.0.0.2:7447".into()], ..BusConfig::default() };
        assert_eq!(problems(&cfg), ["bus.connect[0]"]);
    }

    #[test]
    fn secure_profile_wants_tls_endpoints_and_a_node_name() {
        let cfg: BusConfig = toml::from_str(
            r#"
            listen = ["tls/127.0.0.1:7447"]
            connect = ["tcp/127.0.0.1:7447"]
            router_listen = ["tls/0.0.0.0:7447"]
            [security]
            enabled = true
            "#,
        )
        .expect("parse");
        assert_eq!(problems(&cfg), ["bus.connect[0]", "bus.security.node"]);
        let ok = BusConfig {
            connect: vec!["tls/127.0.0.1:7447".into()],
            security: BusSecurity { node: "robot-pc".into(), ..cfg.security.clone() },
            ..cfg
        };
        assert!(problems(&ok).is_empty());
        let bad: Result<BusConfig, _> = toml::from_str("[security]\nenable = true\n");
        assert!(bad.is_err(), "unknown keys in [bus.security] are refused");
    }
}
