//! The secure cell profile (`[bus.security]`): TLS with mutual authentication, and zenoh access control built
//! from the cell's role registry.
//!
//! Every link is TLS; both ends present a certificate signed by the cell's CA ([`crate::certs`]), so a peer without
//! one (or with one from another CA) fails the handshake and never joins. A certified node's identity is its
//! certificate's common name (the node name); its role comes from `roles.toml` beside the CA. Access control
//! (checked by every receiving session on its ingress, so a router and a controller both refuse a denied put)
//! then lets only the roles of [`Role::may_put`] put on the [guarded keys](GUARDED); every other key, the e-stop
//! key (`<node>/estop`) included, is open to every certified node. A certificate whose name is not in the
//! registry is denied everything (default deny): removing a node from `roles.toml` revokes it.

use crate::BusError;
use interfaces::config::BusSecurity;
use interfaces::keys::{OPERATOR_COMMAND, POLICY_WEIGHTS, POSE_TARGET, TELEOP_COMMAND, TopicInfo};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The keys only some roles may put on (in every cell): pose targets, operator commands, teleop commands and
/// policy weights.
pub const GUARDED: [TopicInfo; 4] =
    [POSE_TARGET.info(), OPERATOR_COMMAND.info(), TELEOP_COMMAND.info(), POLICY_WEIGHTS.info()];

/// What a certified node may do on the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// A machine running the whole cell (`corrigo run`): every key.
    Cell,
    /// A `corrigo router`: every key (it forwards the other nodes' puts; each node's own ACL still applies at the
    /// router's ingress).
    Router,
    /// The controller node (arm state, events, scene state): no guarded key.
    Controller,
    /// The actor (or `corrigo record`): pose targets.
    Actor,
    /// The learner: policy weights.
    Learner,
    /// The operator panel: operator commands and teleop commands (its joystick).
    Operator,
    /// A teleop device node: teleop commands and operator commands (its buttons label, stop and e-stop).
    Teleop,
    /// Cameras, dashboards, loggers: no guarded key.
    Observer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 8] = [
        Role::Cell,
        Role::Router,
        Role::Controller,
        Role::Actor,
        Role::Learner,
        Role::Operator,
        Role::Teleop,
        Role::Observer,
    ];

    /// Its name in `roles.toml`, in the certificate's OU and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Role::Cell => "cell",
            Role::Router => "router",
            Role::Controller => "controller",
            Role::Actor => "actor",
            Role::Learner => "learner",
            Role::Operator => "operator",
            Role::Teleop => "teleop",
            Role::Observer => "observer",
        }
    }

    /// The role named `name`.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Whether this role may put on the guarded topic `t` (every role may put on every key not in [`GUARDED`]).
    pub fn may_put(self, t: TopicInfo) -> bool {
        if !GUARDED.contains(&t) {
            return true;
        }
        match self {
            Role::Cell | Role::Router => true,
            Role::Controller | Role::Observer => false,
            Role::Actor => t == POSE_TARGET.info(),
            Role::Learner => t == POLICY_WEIGHTS.info(),
            Role::Operator | Role::Teleop => t == OPERATOR_COMMAND.info() || t == TELEOP_COMMAND.info(),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Names of all roles, for messages.
pub fn role_names() -> String {
    Role::ALL.map(Role::name).join(", ")
}

/// `<dir>/ca.pem`.
pub fn ca_cert_path(dir: &Path) -> PathBuf {
    dir.join("ca.pem")
}
/// `<dir>/ca.key` (stays on the machine that issues certificates).
pub fn ca_key_path(dir: &Path) -> PathBuf {
    dir.join("ca.key")
}
/// `<dir>/roles.toml`.
pub fn registry_path(dir: &Path) -> PathBuf {
    dir.join("roles.toml")
}
/// `<dir>/<node>.pem`.
pub fn node_cert_path(dir: &Path, node: &str) -> PathBuf {
    dir.join(format!("{node}.pem"))
}
/// `<dir>/<node>.key`.
pub fn node_key_path(dir: &Path, node: &str) -> PathBuf {
    dir.join(format!("{node}.key"))
}

pub(crate) fn security_err(path: &Path, reason: impl std::fmt::Display) -> BusError {
    BusError::Security { path: path.display().to_string(), reason: reason.to_string() }
}

/// The role registry `roles.toml`: node name → role, written by `corrigo certs issue`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry {
    /// Node (certificate common name) → role.
    pub nodes: BTreeMap<String, Role>,
}

impl Registry {
    /// Reads `<dir>/roles.toml`; errors name the file and the offending entry.
    pub fn load(dir: &Path) -> Result<Registry, BusError> {
        let path = registry_path(dir);
        let text = std::fs::read_to_string(&path).map_err(|e| security_err(&path, format!("cannot read: {e}")))?;
        let table: toml::Table = text.parse().map_err(|e| security_err(&path, format!("not valid TOML: {e}")))?;
        let mut nodes = BTreeMap::new();
        if let Some(n) = table.get("nodes") {
            let n = n.as_table().ok_or_else(|| security_err(&path, "`nodes` must be a table of node = \"role\""))?;
            for (node, role) in n {
                let role = role.as_str().and_then(Role::parse).ok_or_else(|| {
                    security_err(&path, format!("nodes.{node} = {role}: expected one of {}", role_names()))
                })?;
                nodes.insert(node.clone(), role);
            }
        }
        Ok(Registry { nodes })
    }

    /// Writes `<dir>/roles.toml`.
    pub fn save(&self, dir: &Path) -> Result<(), BusError> {
        let path = registry_path(dir);
        let mut text = String::from(
            "# The cell's node → role registry, written by `corrigo certs issue`. Copy it with ca.pem to every machine\n\
             # of the cell: each session builds its access control from it. Removing a node revokes its certificate.\n\
             [nodes]\n",
        );
        for (node, role) in &self.nodes {
            text.push_str(&format!("{node:?} = {:?}\n", role.name()));
        }
        crate::certs::write_atomic(&path, text.as_bytes(), 0o644)
    }

    /// The zenoh `access_control` object for this registry (JSON).
    pub fn access_control(&self) -> serde_json::Value {
        use serde_json::json;
        let all_messages = json!([
            "put",
            "delete",
            "declare_subscriber",
            "query",
            "reply",
            "declare_queryable",
            "liveliness_token",
            "liveliness_query",
            "declare_liveliness_subscriber"
        ]);
        let mut rules = vec![json!({
            "id": "open", "messages": all_messages, "flows": ["ingress", "egress"], "permission": "allow",
            "key_exprs": ["**"],
        })];
        for t in GUARDED {
            rules.push(json!({
                "id": deny_rule(t), "messages": ["put", "delete"], "flows": ["ingress"], "permission": "deny",
                "key_exprs": [t.key("*")],
            }));
        }
        let (mut subjects, mut policies) = (Vec::new(), Vec::new());
        for role in Role::ALL {
            let names: Vec<&String> = self.nodes.iter().filter(|(_, r)| **r == role).map(|(n, _)| n).collect();
            if names.is_empty() {
                continue; // zenoh refuses an empty list of common names
            }
            let id = format!("role_{}", role.name());
            let mut role_rules = vec!["open".to_string()];
            role_rules.extend(GUARDED.into_iter().filter(|t| !role.may_put(*t)).map(deny_rule));
            subjects.push(json!({ "id": id, "cert_common_names": names }));
            policies.push(json!({ "id": id, "rules": role_rules, "subjects": [id] }));
        }
        json!({
            "enabled": true, "default_permission": "deny", "rules": rules, "subjects": subjects, "policies": policies,
        })
    }
}

fn deny_rule(t: TopicInfo) -> String {
    format!("deny_put_{}_{}", t.node, t.name)
}

/// The zenoh settings (key, JSON value) of the secure profile for node `sec.node`: TLS with mutual
/// authentication on both listening and connecting links, and access control from the registry. Every file is
/// checked first; an error names the missing or unreadable one.
pub fn zenoh_settings(sec: &BusSecurity) -> Result<Vec<(String, String)>, BusError> {
    let dir = Path::new(&sec.dir);
    let ca = ca_cert_path(dir);
    let cert = node_cert_path(dir, &sec.node);
    let key = node_key_path(dir, &sec.node);
    for (path, what) in [
        (&ca, "the cell's CA certificate (`corrigo certs init`)"),
        (&cert, "this node's certificate"),
        (&key, "this node's private key"),
    ] {
        std::fs::File::open(path).map_err(|e| {
            security_err(
                path,
                format!("cannot read {what} ({e}); make it with `corrigo certs issue {} --role ROLE`", sec.node),
            )
        })?;
    }
    let registry = Registry::load(dir)?;
    if !registry.nodes.contains_key(&sec.node) {
        tracing::warn!(
            node = %sec.node,
            registry = %registry_path(dir).display(),
            "this node is not in the role registry: its peers will deny it everything"
        );
    }
    let s = |p: &Path| format!("{:?}", p.display().to_string());
    Ok(vec![
        ("transport/link/tls/root_ca_certificate".into(), s(&ca)),
        ("transport/link/tls/listen_certificate".into(), s(&cert)),
        ("transport/link/tls/listen_private_key".into(), s(&key)),
        ("transport/link/tls/connect_certificate".into(), s(&cert)),
        ("transport/link/tls/connect_private_key".into(), s(&key)),
        ("transport/link/tls/enable_mtls".into(), "true".into()),
        // Identity is the certificate (CA-pinned, mutual); endpoints are IP addresses that node certificates do not
        // name. A node listening on a stolen address still gets only its own role's rights from every peer's ACL.
        ("transport/link/tls/verify_name_on_connect".into(), "false".into()),
        ("access_control".into(), registry.access_control().to_string()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_put_only_on_their_guarded_keys() {
        use interfaces::keys::{ARM_STATE, ESTOP, EVENT};
        for role in Role::ALL {
            assert_eq!(Role::parse(role.name()), Some(role));
            for open in [ARM_STATE.info(), ESTOP.info(), EVENT.info()] {
                assert!(role.may_put(open), "{role} may put on {}", open.name);
            }
        }
        assert!(Role::Actor.may_put(POSE_TARGET.info()));
        assert!(!Role::Observer.may_put(POSE_TARGET.info()));
        assert!(!Role::Learner.may_put(POSE_TARGET.info()));
        assert!(Role::Learner.may_put(POLICY_WEIGHTS.info()));
        assert!(!Role::Actor.may_put(POLICY_WEIGHTS.info()));
        assert!(Role::Teleop.may_put(OPERATOR_COMMAND.info()));
        assert!(!Role::Controller.may_put(OPERATOR_COMMAND.info()));
    }

    #[test]
    fn access_control_denies_guarded_keys_per_role() {
        let reg = Registry {
            nodes: [("gpu".to_string(), Role::Learner), ("cam".to_string(), Role::Observer)].into_iter().collect(),
        };
        let acl = reg.access_control();
        assert_eq!(acl["default_permission"], "deny");
        let policies = acl["policies"].as_array().expect("policies");
        assert_eq!(policies.len(), 2, "only roles with nodes: {acl}");
        let learner = policies.iter().find(|p| p["id"] == "role_learner").expect("learner policy");
        let rules: Vec<&str> = learner["rules"].as_array().expect("rules").iter().filter_map(|r| r.as_str()).collect();
        assert!(rules.contains(&"deny_put_actor_pose_target"));
        assert!(!rules.contains(&"deny_put_learner_weights"));
        let deny = acl["rules"].as_array().expect("rules").iter().find(|r| r["id"] == "deny_put_actor_pose_target");
        assert_eq!(deny.expect("deny rule")["key_exprs"][0], "corrigo/*/actor/pose_target");
    }
}
