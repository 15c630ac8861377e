//! The secure cell profile (`[bus.security]`): TLS with mutual authentication, and zenoh access control built
//! from the cell's role registry.
//!
//! Every link is TLS; both ends present a certificate signed by the cell's CA ([`crate::certs`]), so a peer without
//! one (or with one from another CA) fails the handshake and never joins. A certified node's identity is its
//! certificate's common name (the node name); its role comes from `roles.toml` beside the CA.
//!
//! Access control is **default-deny**, checked by every receiving session on its ingress (so a router and a
//! controller both refuse a denied put) and again on egress (a session sends a node only what that node may
//! subscribe to). Each node gets an allow-list of exact keys from its role's table ([`Role::puts`],
//! [`Role::subscribes`]), with `<node>` standing for its own certificate name:
//!
//! | role | may put | may subscribe to |
//! |---|---|---|
//! | `cell`, `router` | every key (`**`) | every key |
//! | `controller` | `controller/arm_state`, `controller/sim_scene`, `controller/event`; a simulated cell's cameras: `camera/*/frame`, `camera/*/full`, `camera/event` | `actor/pose_target`, `operator/command`, `*/estop`, `actor/scene_reset` |
//! | `camera` | `camera/*/frame`, `camera/*/full`, `camera/event` | — |
//! | `actor` | `actor/pose_target`, `actor/transitions`, `actor/episodes`, `actor/scene_reset`, `actor/event`, `recorder/event` | `controller/arm_state`, `controller/sim_scene`, `camera/*/frame`, `operator/command`, `teleop/command`, `teleop/episode`, `learner/weights`, `learner/ack`, `*/estop` |
//! | `learner` | `learner/ack`, `learner/weights`, `learner/metrics`, `learner/event` | `actor/transitions`, `actor/episodes` |
//! | `operator` | `operator/command`, `teleop/command`, `teleop/episode` | the monitoring set: arm state, scene state, frames, full frames, metrics, `*/event`, `*/estop`, commands, episodes |
//! | `teleop` | `teleop/command`, `teleop/episode`, `teleop/event` | `controller/arm_state` |
//! | `observer` | — | the monitoring set |
//!
//! and every certified node may also put its own `<node>/estop` and `<node>/event`, announce itself (liveliness
//! tokens `alive/<node>` and its kind's name) and follow the cell's liveliness (`alive/*`). Keys are allowed in
//! every cell (`corrigo/*/…`): a certificate is not bound to one cell.
//!
//! zenoh applies an allow rule only when its key *includes* the put's key expression, so a put on a wildcard
//! (`corrigo/<cell>/**`, `actor/*`, `*/command`, `actor/pose_targe$*`) is refused unless the node may put on
//! everything it covers: the trusted `cell` and `router` roles only. Queries, queryables and replies are not used
//! by corrigo and are denied to every role but those two. A certificate whose name is not in the registry is denied
//! everything: removing a node from `roles.toml` revokes it.

use crate::BusError;
use interfaces::config::BusSecurity;
use interfaces::keys::{
    ARM_STATE, EPISODES, ESTOP, EVENT, FRAME, FULL_FRAME, LEARNER_METRICS, OPERATOR_COMMAND, POLICY_WEIGHTS,
    POSE_TARGET, SCENE_RESET, SIM_SCENE, TELEOP_COMMAND, TELEOP_EPISODE, TRANSITION_ACK, TRANSITIONS, TopicInfo,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which keys of a topic a [`Grant`] covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instance {
    /// The topic's one key (it has no `{}` placeholder).
    Only,
    /// Every instance of the placeholder (`camera/*/frame`, `*/estop`).
    Any,
    /// The instance named after the node's certificate (`<node>/estop`, `<node>/event`).
    Own,
    /// One fixed instance (a node kind's event key, `learner/event`).
    Named(&'static str),
}

/// One entry of a role's table: a topic, and which of its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The topic.
    pub topic: TopicInfo,
    /// Which of its keys.
    pub instance: Instance,
}

const fn only(topic: TopicInfo) -> Grant {
    Grant { topic, instance: Instance::Only }
}
const fn any(topic: TopicInfo) -> Grant {
    Grant { topic, instance: Instance::Any }
}
const fn named(topic: TopicInfo, name: &'static str) -> Grant {
    Grant { topic, instance: Instance::Named(name) }
}

impl Grant {
    /// The key expression this grant allows for node `node`, in every cell: `corrigo/*/<node kind>/<topic>`.
    pub fn key_expr(&self, node: &str) -> String {
        let instance = match self.instance {
            Instance::Only | Instance::Any => "*",
            Instance::Own => node,
            Instance::Named(n) => n,
        };
        self.topic.key_for("*", instance)
    }
}

/// What every certified node may put besides its role's table: its own e-stop and event keys.
const OWN_PUTS: [Grant; 2] =
    [Grant { topic: ESTOP.info(), instance: Instance::Own }, Grant { topic: EVENT.info(), instance: Instance::Own }];

/// What a monitoring node (the operator panel, a dashboard, a logger) may subscribe to: everything but the bulk
/// training data (transitions, policy weights) and the learner's acknowledgements.
const MONITORING: [Grant; 11] = [
    only(ARM_STATE.info()),
    only(SIM_SCENE.info()),
    any(FRAME.info()),
    any(FULL_FRAME.info()),
    only(LEARNER_METRICS.info()),
    any(EVENT.info()),
    any(ESTOP.info()),
    only(OPERATOR_COMMAND.info()),
    only(TELEOP_COMMAND.info()),
    only(TELEOP_EPISODE.info()),
    only(EPISODES.info()),
];

/// What a certified node may do on the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// A machine running the whole cell (`corrigo run`): every key.
    Cell,
    /// A `corrigo router`: every key (it forwards the other nodes' puts; each node's own ACL still applies at the
    /// router's ingress).
    Router,
    /// The controller node: arm state, the simulated scene's state, its events, and a simulated cell's camera frames.
    Controller,
    /// A camera node: frames and full frames of any camera name.
    Camera,
    /// The actor (or `corrigo record`): pose targets, transitions, episode reports, scene resets.
    Actor,
    /// The learner: acknowledgements, policy weights, metrics.
    Learner,
    /// The operator panel: operator commands (e-stop, reset, gains, episode control), teleop commands (its
    /// joystick) and teleop episode controls.
    Operator,
    /// A teleop device node: teleop commands and its buttons' episode controls (`teleop/episode`); its e-stop goes
    /// on its own `<node>/estop`. Not `operator/command`: a teleop device cannot reset an e-stop or change gains.
    Teleop,
    /// Dashboards, loggers: reads the monitoring keys, puts nothing but its own e-stop and events.
    Observer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 9] = [
        Role::Cell,
        Role::Router,
        Role::Controller,
        Role::Camera,
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
            Role::Camera => "camera",
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

    /// True for the roles trusted with every key (`cell`, `router`).
    pub fn is_trusted(self) -> bool {
        matches!(self, Role::Cell | Role::Router)
    }

    /// The keys this role may put on (besides every node's own `<node>/estop` and `<node>/event`, [`Role::puts`]);
    /// empty for the trusted roles, which may put on every key.
    fn table_puts(self) -> Vec<Grant> {
        match self {
            Role::Cell | Role::Router | Role::Observer => vec![],
            // A simulated cell's controller also publishes its simulated cameras (`corrigo controller` with
            // simulated cameras), through the camera node.
            Role::Controller => vec![
                only(ARM_STATE.info()),
                only(SIM_SCENE.info()),
                named(EVENT.info(), "controller"),
                any(FRAME.info()),
                any(FULL_FRAME.info()),
                named(EVENT.info(), "camera"),
            ],
            Role::Camera => vec![any(FRAME.info()), any(FULL_FRAME.info()), named(EVENT.info(), "camera")],
            Role::Actor => vec![
                only(POSE_TARGET.info()),
                only(TRANSITIONS.info()),
                only(EPISODES.info()),
                only(SCENE_RESET.info()),
                named(EVENT.info(), "actor"),
                named(EVENT.info(), "recorder"),
            ],
            Role::Learner => vec![
                only(TRANSITION_ACK.info()),
                only(POLICY_WEIGHTS.info()),
                only(LEARNER_METRICS.info()),
                named(EVENT.info(), "learner"),
            ],
            Role::Operator => {
                vec![only(OPERATOR_COMMAND.info()), only(TELEOP_COMMAND.info()), only(TELEOP_EPISODE.info())]
            }
            Role::Teleop => {
                vec![only(TELEOP_COMMAND.info()), only(TELEOP_EPISODE.info()), named(EVENT.info(), "teleop")]
            }
        }
    }

    /// The keys a node of this role may put on: its role's table and its own `<node>/estop` and `<node>/event`
    /// (see the module's table). The trusted roles ([`Role::is_trusted`]) may put on every key besides.
    pub fn puts(self) -> Vec<Grant> {
        let mut g = self.table_puts();
        g.extend(OWN_PUTS);
        g
    }

    /// The keys a node of this role may subscribe to (see the module's table); the trusted roles may subscribe to
    /// every key besides.
    pub fn subscribes(self) -> Vec<Grant> {
        match self {
            Role::Cell | Role::Router | Role::Camera => vec![],
            Role::Controller => vec![
                only(POSE_TARGET.info()),
                only(OPERATOR_COMMAND.info()),
                any(ESTOP.info()),
                only(SCENE_RESET.info()),
            ],
            Role::Actor => vec![
                only(ARM_STATE.info()),
                only(SIM_SCENE.info()),
                any(FRAME.info()),
                only(OPERATOR_COMMAND.info()),
                only(TELEOP_COMMAND.info()),
                only(TELEOP_EPISODE.info()),
                only(POLICY_WEIGHTS.info()),
                only(TRANSITION_ACK.info()),
                // An actor stepping a simulated cell in-process stops it on any node's e-stop.
                any(ESTOP.info()),
            ],
            Role::Learner => vec![only(TRANSITIONS.info()), only(EPISODES.info())],
            Role::Operator | Role::Observer => MONITORING.to_vec(),
            Role::Teleop => vec![only(ARM_STATE.info())],
        }
    }

    /// The names a node of this role may announce as alive ([`crate::Bus::announce`]) besides its own certificate
    /// name: its node kind's.
    pub fn announces(self) -> &'static [&'static str] {
        match self {
            Role::Cell | Role::Router => &[],
            Role::Controller => &["controller", "camera"],
            Role::Camera => &["camera"],
            Role::Actor => &["actor", "recorder"],
            Role::Learner => &["learner"],
            Role::Operator | Role::Observer => &["panel"],
            Role::Teleop => &["teleop"],
        }
    }

    /// Whether this role may put on some key of topic `t` (for `<node>/estop` and `<node>/event`, every role: on
    /// its own key). The trusted roles may put on every topic.
    pub fn may_put(self, t: TopicInfo) -> bool {
        self.is_trusted() || self.puts().iter().any(|g| g.topic == t)
    }

    /// Whether this role may subscribe to some key of topic `t`.
    pub fn may_subscribe(self, t: TopicInfo) -> bool {
        self.is_trusted() || self.subscribes().iter().any(|g| g.topic == t)
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
                // A node's name becomes a chunk of its own keys (`<node>/estop`): no key expression syntax.
                if !interfaces::keys::is_valid_chunk(node) {
                    return Err(security_err(
                        &path,
                        format!("nodes.{node:?}: a node name has only letters, digits, '_' or '-'"),
                    ));
                }
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

    /// The zenoh `access_control` object for this registry (JSON): default deny; per node, allow rules built from
    /// its role's table ([`Role::puts`], [`Role::subscribes`], [`Role::announces`]) with its own name filled in.
    ///
    /// | flow | messages | allowed on |
    /// |---|---|---|
    /// | ingress (what the node sends) | put, delete | [`Role::puts`] |
    /// | ingress | declare subscriber | [`Role::subscribes`] |
    /// | ingress | liveliness token | `alive/<node>` and [`Role::announces`] |
    /// | egress (what is sent to the node) | put, delete | [`Role::subscribes`] |
    /// | egress | declare subscriber, liveliness token | `corrigo/**` (so the node learns where to send) |
    /// | both | liveliness subscriber and query | `corrigo/*/alive/*` |
    /// | both, `cell` and `router` only | everything | `**` |
    pub fn access_control(&self) -> serde_json::Value {
        use serde_json::json;
        let rule = |id: String, messages: &[&str], flow: &str, keys: Vec<String>| json!({ "id": id, "messages": messages, "flows": [flow], "permission": "allow", "key_exprs": keys });
        let all_messages = [
            "put",
            "delete",
            "declare_subscriber",
            "query",
            "reply",
            "declare_queryable",
            "liveliness_token",
            "liveliness_query",
            "declare_liveliness_subscriber",
        ];
        let alive = interfaces::keys::liveliness_key("*", "*");
        let mut rules = vec![
            json!({
                "id": "trusted", "messages": all_messages, "flows": ["ingress", "egress"], "permission": "allow",
                "key_exprs": ["**"],
            }),
            json!({
                "id": "liveliness", "messages": ["liveliness_query", "declare_liveliness_subscriber"],
                "flows": ["ingress", "egress"], "permission": "allow", "key_exprs": [alive],
            }),
            rule(
                "declarations_to_node".into(),
                &["declare_subscriber", "liveliness_token"],
                "egress",
                vec!["corrigo/**".to_string()],
            ),
        ];
        let (mut subjects, mut policies) = (Vec::new(), Vec::new());
        for (node, role) in &self.nodes {
            let id = format!("node_{node}");
            let mut node_rules = vec!["liveliness".to_string(), "declarations_to_node".to_string()];
            if role.is_trusted() {
                node_rules.push("trusted".into());
            }
            let puts: Vec<String> = role.puts().iter().map(|g| g.key_expr(node)).collect();
            let subs: Vec<String> = role.subscribes().iter().map(|g| g.key_expr(node)).collect();
            let mut tokens = vec![interfaces::keys::liveliness_key("*", node)];
            tokens.extend(role.announces().iter().map(|n| interfaces::keys::liveliness_key("*", n)));
            let mut add = |suffix: &str, messages: &[&str], flow: &str, keys: Vec<String>| {
                if !keys.is_empty() {
                    let rid = format!("{id}_{suffix}");
                    node_rules.push(rid.clone());
                    rules.push(rule(rid, messages, flow, keys));
                }
            };
            add("puts", &["put", "delete"], "ingress", puts);
            add("subscribes", &["declare_subscriber"], "ingress", subs.clone());
            add("receives", &["put", "delete"], "egress", subs);
            add("announces", &["liveliness_token"], "ingress", tokens);
            subjects.push(json!({ "id": id, "cert_common_names": [node] }));
            policies.push(json!({ "id": id, "rules": node_rules, "subjects": [id] }));
        }
        json!({
            "enabled": true, "default_permission": "deny", "rules": rules, "subjects": subjects, "policies": policies,
        })
    }
}

/// Refuses a private key that others than its owner may read or write: `chmod 600` is the fix, named in the
/// error with the file.
pub fn check_key_permissions(path: &Path) -> Result<(), BusError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| security_err(path, format!("cannot read the private key: {e}")))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(security_err(
            path,
            format!(
                "this private key is readable or writable by others (mode {mode:04o}); anyone who can read it can \
                 act as this node: run `chmod 600 {}`",
                path.display()
            ),
        ));
    }
    Ok(())
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
    check_key_permissions(&key)?;
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
    use interfaces::keys::ALL_TOPICS;

    #[test]
    fn only_the_operator_and_trusted_roles_put_operator_commands() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.name()), Some(role));
            let expected = matches!(role, Role::Operator | Role::Cell | Role::Router);
            assert_eq!(role.may_put(OPERATOR_COMMAND.info()), expected, "{role} on operator/command");
            // Every role may put its own e-stop and events.
            assert!(role.may_put(ESTOP.info()) && role.may_put(EVENT.info()), "{role}");
        }
        assert!(Role::Teleop.may_put(TELEOP_COMMAND.info()) && Role::Teleop.may_put(TELEOP_EPISODE.info()));
        assert!(Role::Actor.may_put(POSE_TARGET.info()));
        assert!(!Role::Observer.may_put(POSE_TARGET.info()));
        assert!(!Role::Learner.may_put(POSE_TARGET.info()));
        assert!(Role::Learner.may_put(POLICY_WEIGHTS.info()) && Role::Learner.may_put(TRANSITION_ACK.info()));
        assert!(!Role::Actor.may_put(POLICY_WEIGHTS.info()) && !Role::Actor.may_put(TRANSITION_ACK.info()));
        assert!(Role::Controller.may_put(ARM_STATE.info()) && !Role::Actor.may_put(ARM_STATE.info()));
        assert!(Role::Camera.may_put(FRAME.info()) && !Role::Observer.may_put(FRAME.info()));
    }

    #[test]
    fn every_key_has_an_owner_and_a_reader() {
        for t in ALL_TOPICS {
            let owners: Vec<Role> = Role::ALL.into_iter().filter(|r| !r.is_trusted() && r.may_put(*t)).collect();
            assert!(!owners.is_empty(), "{t:?} has no role that may put it");
            let readers: Vec<Role> = Role::ALL.into_iter().filter(|r| !r.is_trusted() && r.may_subscribe(*t)).collect();
            assert!(!readers.is_empty(), "{t:?} has no role that may read it");
        }
    }

    #[test]
    fn a_node_gets_only_its_own_estop_key() {
        let reg = Registry { nodes: [("cam1".to_string(), Role::Observer)].into_iter().collect() };
        let acl = reg.access_control();
        let rule = acl["rules"].as_array().expect("rules").iter().find(|r| r["id"] == "node_cam1_puts");
        let keys: Vec<&str> = rule.expect("a put rule")["key_exprs"]
            .as_array()
            .expect("keys")
            .iter()
            .filter_map(|k| k.as_str())
            .collect();
        assert_eq!(keys, ["corrigo/*/cam1/estop", "corrigo/*/cam1/event"]);
    }

    #[test]
    fn access_control_is_default_deny_with_allows_per_node() {
        let reg = Registry {
            nodes: [("gpu".to_string(), Role::Learner), ("hub".to_string(), Role::Cell)].into_iter().collect(),
        };
        let acl = reg.access_control();
        assert_eq!(acl["default_permission"], "deny");
        let rules = acl["rules"].as_array().expect("rules");
        assert!(rules.iter().all(|r| r["permission"] == "allow"), "no deny rule: {acl}");
        let policies = acl["policies"].as_array().expect("policies");
        assert_eq!(policies.len(), 2, "one policy per node: {acl}");
        let learner = policies.iter().find(|p| p["id"] == "node_gpu").expect("learner policy");
        let names: Vec<&str> = learner["rules"].as_array().expect("rules").iter().filter_map(|r| r.as_str()).collect();
        assert!(!names.contains(&"trusted"), "{names:?}");
        let hub = policies.iter().find(|p| p["id"] == "node_hub").expect("cell policy");
        assert!(hub["rules"].as_array().expect("rules").iter().any(|r| r == "trusted"));
        // No rule but the trusted one allows a wildcard put.
        for r in rules.iter().filter(|r| r["id"] != "trusted" && r["messages"].to_string().contains("\"put\"")) {
            for k in r["key_exprs"].as_array().expect("keys") {
                let k = k.as_str().expect("a key");
                assert!(!k.contains("**") && !k.contains('$'), "{k}");
            }
        }
        // zenoh accepts it.
        let mut config = zenoh::Config::default();
        config.insert_json5("access_control", &acl.to_string()).expect("a valid access_control object");
    }

    #[test]
    fn a_registry_with_key_syntax_in_a_node_name_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(registry_path(dir.path()), "[nodes]\n\"**\" = \"observer\"\n").expect("write");
        let err = Registry::load(dir.path()).expect_err("a wildcard node name");
        assert!(err.to_string().contains("**"), "{err}");
    }

    #[test]
    fn a_private_key_readable_by_others_is_refused_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let key = dir.path().join("node.key");
        std::fs::write(&key, "not really a key").expect("write");
        for (mode, ok) in [(0o600, true), (0o400, true), (0o640, false), (0o604, false), (0o620, false)] {
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).expect("chmod");
            let verdict = check_key_permissions(&key);
            assert_eq!(verdict.is_ok(), ok, "mode {mode:o}: {verdict:?}");
            if let Err(e) = verdict {
                let e = e.to_string();
                assert!(e.contains(&key.display().to_string()) && e.contains("chmod 600"), "{e}");
            }
        }
    }
}
