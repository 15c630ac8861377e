//! The secure cell profile: certificates, mutual TLS (an uncertified node never joins) and default-deny access
//! control by role (a certified node without the role cannot put a pose target, yet its own e-stop goes through;
//! no wildcard or `$*` put reaches a key its sender's role may not put; a teleop device cannot reset an e-stop).
//!
//! No timing thresholds: each test waits (generous deadlines) for a positive event first, publishing again until
//! it happens, and only then asserts that the denied messages, sent all along beside it, never arrived.

mod common;

use bus::security::{Registry, Role};
use bus::{Bus, Router, certs};
use common::{commands, free_port, pose_target, wait_until};
use interfaces::config::{BusConfig, BusMode, BusSecurity};
use interfaces::keys::{ESTOP, EVENT, OPERATOR_COMMAND, POSE_TARGET};
use interfaces::msg::{Command, OperatorCommand, PoseTarget};
use std::path::Path;
use std::time::Duration;

/// A secure config of `node` whose certificates lie in `dir`.
fn secure(dir: &Path, node: &str, mode: BusMode, listen: Vec<String>, connect: Vec<String>) -> BusConfig {
    BusConfig {
        mode,
        listen,
        connect,
        security: BusSecurity { enabled: true, dir: dir.display().to_string(), node: node.into() },
        ..BusConfig::default()
    }
}

/// A cell's CA in a fresh temporary folder with these nodes issued.
fn cell_ca(nodes: &[(&str, Role)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    certs::init(dir.path(), false).expect("certs init");
    for (node, role) in nodes {
        certs::issue(dir.path(), node, *role, certs::NODE_DAYS).expect("certs issue");
    }
    dir
}

fn target_at(x: f64) -> PoseTarget {
    let mut t = pose_target();
    t.pose.position[0] = x;
    t
}

fn estop() -> OperatorCommand {
    commands().into_iter().find(|c| c.command == Command::EStop).expect("an e-stop sample")
}

fn der_of(pem_file: &Path) -> Vec<u8> {
    let text = std::fs::read(pem_file).expect("read pem");
    let (_, pem) = x509_parser::pem::parse_x509_pem(&text).expect("pem");
    pem.contents
}

#[test]
fn certs_init_and_issue_make_a_ca_and_node_certificates_that_verify() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = certs::init(dir.path(), false).expect("init");
    let refused = certs::init(dir.path(), false).expect_err("a second init must not replace the CA");
    assert!(refused.to_string().contains(&ca.cert.display().to_string()), "names the path: {refused}");
    let ca_before = std::fs::read(&ca.cert).expect("ca.pem");
    assert_eq!(std::fs::read(&ca.cert).expect("ca.pem"), ca_before, "the refused init left the CA alone");

    let node = certs::issue(dir.path(), "gpu-box", Role::Learner, 30).expect("issue");
    assert!(!node.rotated);
    for key in [&ca.key, &node.key] {
        let mode = std::fs::metadata(key).expect("key metadata").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is private", key.display());
    }
    let ca_der = der_of(&ca.cert);
    let node_der = der_of(&node.cert);
    let (_, ca_x509) = x509_parser::parse_x509_certificate(&ca_der).expect("ca parses");
    let (_, node_x509) = x509_parser::parse_x509_certificate(&node_der).expect("node cert parses");
    assert!(ca_x509.is_ca());
    assert_eq!(node_x509.issuer(), ca_x509.subject());
    let cn = node_x509.subject().iter_common_name().next().and_then(|c| c.as_str().ok());
    assert_eq!(cn, Some("gpu-box"));
    let ou = node_x509.subject().iter_organizational_unit().next().and_then(|c| c.as_str().ok());
    assert_eq!(ou, Some("learner"));
    // The chain verifies as a TLS client and server certificate (webpki, as rustls checks it in the handshake).
    let ca_cert = rustls_pki_types::CertificateDer::from(ca_der.clone());
    let anchor = webpki::anchor_from_trusted_cert(&ca_cert).expect("trust anchor");
    let ee_der = rustls_pki_types::CertificateDer::from(node_der.clone());
    let ee = webpki::EndEntityCert::try_from(&ee_der).expect("end entity");
    for usage in [webpki::KeyUsage::client_auth(), webpki::KeyUsage::server_auth()] {
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            std::slice::from_ref(&anchor),
            &[],
            rustls_pki_types::UnixTime::now(),
            usage,
            None,
            None,
        )
        .expect("the node certificate verifies against the CA");
    }
    assert_eq!(Registry::load(dir.path()).expect("roles.toml").nodes.get("gpu-box"), Some(&Role::Learner));

    // Re-issuing rotates the key; a forced init makes a new CA the old certificates no longer verify against.
    let key_before = std::fs::read(&node.key).expect("key");
    let again = certs::issue(dir.path(), "gpu-box", Role::Actor, 30).expect("re-issue");
    assert!(again.rotated);
    assert_ne!(std::fs::read(&again.key).expect("key"), key_before, "a new key");
    assert_eq!(Registry::load(dir.path()).expect("roles.toml").nodes.get("gpu-box"), Some(&Role::Actor));
    certs::init(dir.path(), true).expect("forced init");
    assert_ne!(std::fs::read(&ca.cert).expect("ca.pem"), ca_before);
    let new_ca = rustls_pki_types::CertificateDer::from(der_of(&ca.cert));
    let new_anchor = webpki::anchor_from_trusted_cert(&new_ca).expect("trust anchor");
    let old = rustls_pki_types::CertificateDer::from(der_of(&again.cert));
    let old = webpki::EndEntityCert::try_from(&old).expect("end entity");
    let anchors = [new_anchor];
    let verdict = old.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &[],
        rustls_pki_types::UnixTime::now(),
        webpki::KeyUsage::client_auth(),
        None,
        None,
    );
    assert!(verdict.is_err(), "a certificate of the old CA does not verify against the new one");

    let missing = certs::issue(&dir.path().join("nowhere"), "x", Role::Observer, 30).expect_err("no CA there");
    assert!(missing.to_string().contains("nowhere"), "names the path: {missing}");
}

#[test]
fn a_node_without_a_certificate_of_the_cell_never_joins() {
    let cell = cell_ca(&[("ctl", Role::Controller), ("act", Role::Actor)]);
    let other = cell_ca(&[("rogue", Role::Cell)]);
    let endpoint = format!("tls/127.0.0.1:{}", free_port());
    let host = Bus::open(&secure(cell.path(), "ctl", BusMode::Peer, vec![endpoint.clone()], vec![]), "c")
        .expect("open the controller's session");
    let targets = host.subscribe::<PoseTarget>(POSE_TARGET, None).expect("subscribe");
    let actor = Bus::open(&secure(cell.path(), "act", BusMode::Peer, vec![], vec![endpoint.clone()]), "c")
        .expect("open the actor's session");
    // A peer holding another CA's certificate (and trusting that CA only): its session opens (a peer does not need
    // a link) but never links to the cell; its pose targets travel nowhere.
    let rogue = Bus::open(&secure(other.path(), "rogue", BusMode::Peer, vec![], vec![endpoint.clone()]), "c")
        .expect("a rogue peer session opens");

    let mut legit = actor.publisher(POSE_TARGET, None).expect("publisher");
    let mut intruder = rogue.publisher(POSE_TARGET, None).expect("publisher");
    let mut got = Vec::new();
    wait_until(60, "the certified actor's pose target", || {
        legit.publish(&mut target_at(0.4)).expect("publish");
        intruder.publish(&mut target_at(0.9)).expect("publish");
        got.extend(std::iter::from_fn(|| targets.recv_timeout(Duration::from_millis(40))).take(64));
        got.iter().any(|t| t.msg.pose.position[0] == 0.4)
    });

    // The cell is up. Clients must link to open at all: each of these fails to establish its session.
    let rogue_client = Bus::open(&secure(other.path(), "rogue", BusMode::Client, vec![], vec![endpoint.clone()]), "c");
    let err = rogue_client.expect_err("a client with another CA's certificate must not get in");
    assert!(err.to_string().contains(&endpoint), "the error names the endpoint: {err}");
    let plain = BusConfig {
        mode: BusMode::Client,
        connect: vec![endpoint.replacen("tls/", "tcp/", 1)],
        ..BusConfig::default()
    };
    Bus::open(&plain, "c").expect_err("a plain TCP client must not get in");
    // A TLS client that trusts the cell's CA but has no certificate of its own (no mutual authentication).
    let mut no_cert = zenoh::Config::default();
    for (key, value) in [
        ("mode", "\"client\"".to_string()),
        ("connect/endpoints", format!("[{endpoint:?}]")),
        ("scouting/multicast/enabled", "false".into()),
        (
            "transport/link/tls/root_ca_certificate",
            format!("{:?}", bus::security::ca_cert_path(cell.path()).display().to_string()),
        ),
        ("transport/link/tls/verify_name_on_connect", "false".into()),
    ] {
        no_cert.insert_json5(key, &value).expect("zenoh config");
    }
    use zenoh::Wait;
    assert!(zenoh::open(no_cert).wait().is_err(), "a client without a certificate must not get in");

    for _ in 0..20 {
        intruder.publish(&mut target_at(0.9)).expect("publish");
        legit.publish(&mut target_at(0.4)).expect("publish");
    }
    let before = got.iter().filter(|t| t.msg.pose.position[0] == 0.4).count();
    wait_until(60, "more of the actor's pose targets", || {
        got.extend(std::iter::from_fn(|| targets.recv_timeout(Duration::from_millis(40))).take(64));
        targets.queued() == 0 && got.iter().filter(|t| t.msg.pose.position[0] == 0.4).count() > before
    });
    assert!(got.iter().all(|t| t.msg.pose.position[0] == 0.4), "the rogue peer's pose target arrived");
    let rogue_links =
        rogue.session().info().routers_zid().wait().count() + rogue.session().info().peers_zid().wait().count();
    assert_eq!(rogue_links, 0, "the rogue peer has no link into the cell");
    let host_peers: Vec<_> = host.session().info().peers_zid().wait().collect();
    assert_eq!(host_peers, vec![actor.session().zid()], "the controller is linked to the actor only");
}

/// A certified observer's pose targets are denied, its e-stop is not; an actor's pose targets go through.
fn guarded_keys_obey_roles(via_router: bool) {
    let cell =
        cell_ca(&[("ctl", Role::Controller), ("act", Role::Actor), ("cam", Role::Observer), ("rtr", Role::Router)]);
    let endpoint = format!("tls/127.0.0.1:{}", free_port());
    let (mode, host_listen) =
        if via_router { (BusMode::Client, vec![]) } else { (BusMode::Peer, vec![endpoint.clone()]) };
    let _router = via_router.then(|| {
        Router::start(&secure(cell.path(), "rtr", BusMode::Peer, vec![], vec![]), Some(vec![endpoint.clone()]))
            .expect("start the router")
    });
    let connect = if via_router { vec![endpoint.clone()] } else { vec![] };
    let host = Bus::open(&secure(cell.path(), "ctl", mode, host_listen, connect), "c").expect("controller session");
    let targets = host.subscribe::<PoseTarget>(POSE_TARGET, None).expect("subscribe");
    let estops = host.subscribe::<OperatorCommand>(ESTOP, Some("*")).expect("subscribe");
    let actor = Bus::open(&secure(cell.path(), "act", mode, vec![], vec![endpoint.clone()]), "c").expect("actor");
    let camera = Bus::open(&secure(cell.path(), "cam", mode, vec![], vec![endpoint.clone()]), "c").expect("camera");

    let mut allowed = actor.publisher(POSE_TARGET, None).expect("publisher");
    let mut denied = camera.publisher(POSE_TARGET, None).expect("publisher");
    let mut cam_estop = camera.publisher(ESTOP, Some("cam")).expect("publisher");
    let (mut got, mut stops) = (Vec::new(), Vec::new());
    wait_until(60, "the actor's pose target and the camera node's e-stop", || {
        denied.publish(&mut target_at(0.9)).expect("publish");
        allowed.publish(&mut target_at(0.4)).expect("publish");
        if stops.is_empty() {
            cam_estop.publish(&mut estop()).expect("publish");
        }
        got.extend(std::iter::from_fn(|| targets.recv_timeout(Duration::from_millis(40))).take(64));
        stops.extend(std::iter::from_fn(|| estops.try_recv()));
        !stops.is_empty() && got.iter().any(|t| t.msg.pose.position[0] == 0.4)
    });
    // The camera node's link demonstrably carries its puts (its e-stop arrived); a few more denied pose targets,
    // each followed by one of the actor's, then the verdict once the actor's last ones are in.
    for _ in 0..20 {
        denied.publish(&mut target_at(0.9)).expect("publish");
        allowed.publish(&mut target_at(0.4)).expect("publish");
    }
    let before = got.iter().filter(|t| t.msg.pose.position[0] == 0.4).count();
    wait_until(60, "more of the actor's pose targets", || {
        got.extend(std::iter::from_fn(|| targets.recv_timeout(Duration::from_millis(40))).take(64));
        targets.queued() == 0 && got.iter().filter(|t| t.msg.pose.position[0] == 0.4).count() > before
    });
    assert!(stops.iter().all(|s| s.key.ends_with("/cam/estop") && s.msg.command == Command::EStop));
    let leaked = got.iter().filter(|t| t.msg.pose.position[0] != 0.4).count();
    assert_eq!(leaked, 0, "the observer's pose targets reached the controller ({} received in all)", got.len());
}

#[test]
fn a_certified_node_without_the_role_cannot_put_a_pose_target_peer_to_peer() {
    guarded_keys_obey_roles(false);
}

#[test]
fn a_certified_node_without_the_role_cannot_put_a_pose_target_through_the_router() {
    guarded_keys_obey_roles(true);
}

/// The nodes of one of each restricted role (every role but `cell` and `router`), as senders.
const RESTRICTED: [(&str, Role); 7] = [
    ("ctl", Role::Controller),
    ("cam", Role::Camera),
    ("act", Role::Actor),
    ("lrn", Role::Learner),
    ("op", Role::Operator),
    ("tel", Role::Teleop),
    ("obs", Role::Observer),
];

/// Every exact key of cell `cell` a sender could aim at: each topic, its placeholder filled with a camera name,
/// every sender's name and every node kind.
fn exact_keys(cell: &str) -> Vec<String> {
    let instances: Vec<&str> = RESTRICTED
        .iter()
        .map(|(n, _)| *n)
        .chain(["hub", "controller", "camera", "actor", "recorder", "learner", "operator", "teleop", "front"])
        .collect();
    let mut keys = std::collections::BTreeSet::new();
    for t in interfaces::keys::ALL_TOPICS {
        if t.key(cell).contains("{}") {
            for i in &instances {
                keys.insert(t.key_for(cell, i));
            }
        } else {
            keys.insert(t.key(cell));
        }
    }
    keys.into_iter().collect()
}

/// Wildcard and `$*` variants of every key: `**`, each prefix followed by `**`, each chunk replaced by `*` or `**`,
/// and each chunk's `<head>$*` and `$*<tail>` (`actor/pose_targe$*`), all in canonical form.
fn wildcard_variants(keys: &[String]) -> Vec<String> {
    let mut out = std::collections::BTreeSet::from(["**".to_string()]);
    for key in keys {
        let chunks: Vec<&str> = key.split('/').collect();
        for i in 1..chunks.len() {
            out.insert(format!("{}/**", chunks[..i].join("/")));
            for wild in ["*", "**"] {
                let mut c: Vec<String> = chunks.iter().map(|s| s.to_string()).collect();
                c[i] = wild.into();
                out.insert(c.join("/"));
            }
            if chunks[i].len() > 1 {
                let (head, tail) = (&chunks[i][..chunks[i].len() - 1], &chunks[i][1..]);
                for partial in [format!("{head}$*"), format!("$*{tail}")] {
                    let mut c: Vec<String> = chunks.iter().map(|s| s.to_string()).collect();
                    c[i] = partial;
                    out.insert(c.join("/"));
                }
            }
        }
    }
    out.into_iter()
        .map(|k| zenoh::key_expr::OwnedKeyExpr::autocanonize(k.clone()).map_or(k, |c| c.to_string()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A TLS session of `node` with the cell's certificates and NO access control of its own: a hostile node runs
/// whatever software it likes, so only the receiving side's rules may stand between it and the cell.
fn without_own_acl(dir: &Path, node: &str, mode: &str, endpoint: &str) -> zenoh::Session {
    use zenoh::Wait;
    let sec = BusSecurity { enabled: true, dir: dir.display().to_string(), node: node.into() };
    let mut config = zenoh::Config::default();
    let base = [
        ("mode".to_string(), format!("{mode:?}")),
        ("connect/endpoints".to_string(), format!("[{endpoint:?}]")),
        ("listen/endpoints".to_string(), "[]".to_string()),
        ("scouting/multicast/enabled".to_string(), "false".to_string()),
    ];
    let tls = bus::security::zenoh_settings(&sec).expect("the node's TLS settings");
    for (key, value) in base.into_iter().chain(tls.into_iter().filter(|(k, _)| k != "access_control")) {
        config.insert_json5(&key, &value).expect("zenoh config");
    }
    zenoh::open(config).wait().expect("a certified session without its own access control")
}

/// What the hub saw: (exact key, payload) of every sample delivered to a subscriber of one exact key.
type Deliveries = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// Every restricted role's puts (from a session without access control of its own) on every exact key and every
/// wildcard or `$*` variant of one: a put reaches a subscriber of an exact key only when the sender's role may put
/// on everything the put's key covers, so no wildcard reaches a key its role may not put; every exact put its role
/// allows arrives.
fn wildcard_puts_reach_only_keys_the_role_may_put(via_router: bool) {
    use zenoh::Wait;
    use zenoh::key_expr::KeyExpr;
    use zenoh::qos::CongestionControl;
    let cell = "c";
    let mut nodes: Vec<(&str, Role)> = RESTRICTED.to_vec();
    nodes.extend([("hub", Role::Cell), ("rtr", Role::Router)]);
    let dir = cell_ca(&nodes);
    let endpoint = format!("tls/127.0.0.1:{}", free_port());
    let _router = via_router.then(|| {
        Router::start(&secure(dir.path(), "rtr", BusMode::Peer, vec![], vec![]), Some(vec![endpoint.clone()]))
            .expect("start the router")
    });
    let (mode, listen, connect) = if via_router {
        (BusMode::Client, vec![], vec![endpoint.clone()])
    } else {
        (BusMode::Peer, vec![endpoint.clone()], vec![])
    };
    // The hub (a trusted node, so that it subscribes to every key) holds one subscriber per exact key, and one on
    // the whole cell so that every sender sends it every put (zenoh sends a put only where a subscription meets it).
    let hub = Bus::open(&secure(dir.path(), "hub", mode, listen, connect), cell).expect("the hub's session");
    let keys = exact_keys(cell);
    let seen: Deliveries = Default::default();
    let mut subs = Vec::new();
    for key in keys.iter().cloned().chain([format!("corrigo/{cell}/**")]) {
        let (seen, exact) = (seen.clone(), !key.contains('*'));
        let sub = hub.session().declare_subscriber(key.clone()).callback(move |s| {
            if exact && let Ok(mut seen) = seen.lock() {
                let payload = String::from_utf8_lossy(&s.payload().to_bytes()).into_owned();
                seen.push((s.key_expr().as_str().to_string(), payload));
            }
        });
        subs.push(sub.wait().expect("subscribe"));
    }
    let patterns = wildcard_variants(&keys);
    for p in ["**", "corrigo/c/**", "corrigo/c/actor/*", "corrigo/c/*/pose_target", "corrigo/c/actor/pose_targe$*"] {
        assert!(patterns.iter().any(|q| q == p), "{p} is among the variants tried");
    }
    for p in ["corrigo/c/*/command", "corrigo/c/operator/*", "corrigo/c/learner/*", "corrigo/c/*/estop"] {
        assert!(patterns.iter().any(|q| q == p), "{p} is among the variants tried");
    }
    let zmode = if via_router { "client" } else { "peer" };
    let put = |s: &zenoh::Session, key: &str, payload: String| {
        s.put(key, payload).congestion_control(CongestionControl::Block).wait().expect("put");
    };
    let marked = |seen: &Deliveries, tag: &str| seen.lock().map(|s| s.iter().any(|(_, p)| p == tag)).unwrap_or(false);
    for (node, role) in RESTRICTED {
        let s = without_own_acl(dir.path(), node, zmode, &endpoint);
        let own_estop = ESTOP.key_for(cell, node);
        wait_until(60, &format!("{node}'s own e-stop (the link is up)"), || {
            put(&s, &own_estop, format!("{node}|ready"));
            std::thread::sleep(Duration::from_millis(20));
            marked(&seen, &format!("{node}|ready"))
        });
        for key in keys.iter().chain(&patterns) {
            put(&s, key, format!("{node}|{key}"));
        }
        // Same session, priority and reliability: the marker arrives after every put before it was judged.
        put(&s, &own_estop, format!("{node}|done"));
        wait_until(60, &format!("{node}'s last put"), || marked(&seen, &format!("{node}|done")));
        let allowed: Vec<KeyExpr<'static>> =
            role.puts().iter().map(|g| KeyExpr::try_from(g.key_expr(node)).expect("a key expression")).collect();
        let may = |k: &str| KeyExpr::try_from(k.to_string()).is_ok_and(|k| allowed.iter().any(|a| a.includes(&k)));
        let got: Vec<(String, String)> = seen
            .lock()
            .expect("deliveries")
            .iter()
            .filter_map(|(k, p)| p.strip_prefix(&format!("{node}|")).map(|p| (k.clone(), p.to_string())))
            .filter(|(_, p)| p != "ready" && p != "done")
            .collect();
        for (key, put_on) in &got {
            assert!(may(put_on), "{node} ({role}) put on `{put_on}` and it reached `{key}`");
            assert!(may(key), "{node} ({role}) reached `{key}`, a key it may not put");
        }
        for p in ["**", "corrigo/c/**", "corrigo/c/actor/*", "corrigo/c/*/pose_target", "corrigo/c/actor/pose_targe$*"]
            .into_iter()
            .chain(["corrigo/c/*/command", "corrigo/c/operator/*", "corrigo/c/*/*", "corrigo/*/**"])
        {
            assert!(!got.iter().any(|(_, put_on)| put_on == p), "{node} ({role}): a put on `{p}` was delivered");
        }
        for key in keys.iter().filter(|k| may(k)) {
            assert!(got.iter().any(|(k, p)| k == key && p == key), "{node} ({role}): its put on `{key}` is lost");
        }
        let exact_ok: Vec<&String> = keys.iter().filter(|k| may(k)).collect();
        assert!(exact_ok.len() >= 2, "{node} ({role}) may put at least its e-stop and events: {exact_ok:?}");
        let own = [ESTOP.key_for(cell, node), EVENT.key_for(cell, node)];
        assert!(own.iter().all(|k| exact_ok.contains(&k)), "{node}: its own keys {own:?}");
    }
    // The one role that may put operator commands is the operator.
    let op_cmd = OPERATOR_COMMAND.key(cell);
    let senders: std::collections::BTreeSet<String> = seen
        .lock()
        .expect("deliveries")
        .iter()
        .filter(|(k, p)| *k == op_cmd && !p.ends_with("|ready") && !p.ends_with("|done"))
        .filter_map(|(_, p)| p.split('|').next().map(String::from))
        .collect();
    assert_eq!(senders.into_iter().collect::<Vec<_>>(), ["op"], "only the operator reaches operator/command");
}

#[test]
fn wildcard_and_dollar_star_puts_from_every_role_miss_every_key_it_may_not_put_peer_to_peer() {
    wildcard_puts_reach_only_keys_the_role_may_put(false);
}

#[test]
fn wildcard_and_dollar_star_puts_from_every_role_miss_every_key_it_may_not_put_through_the_router() {
    wildcard_puts_reach_only_keys_the_role_may_put(true);
}

/// A teleop device's certificate cannot reset an e-stop or change gains: its `ResetEStop` and `SetGains` on
/// `operator/command` never reach the controller, while the operator's do, and the device's own e-stop key and
/// episode controls (`teleop/episode`) work.
#[test]
fn a_teleop_device_cannot_reset_the_estop_or_change_gains() {
    let cell = cell_ca(&[("ctl", Role::Controller), ("pad", Role::Teleop), ("panel", Role::Operator)]);
    let endpoint = format!("tls/127.0.0.1:{}", free_port());
    let host = Bus::open(&secure(cell.path(), "ctl", BusMode::Peer, vec![endpoint.clone()], vec![]), "c")
        .expect("controller session");
    let commands_in = host.subscribe::<OperatorCommand>(OPERATOR_COMMAND, None).expect("subscribe");
    let estops = host.subscribe::<OperatorCommand>(ESTOP, Some("*")).expect("subscribe");
    let teleop = Bus::open(&secure(cell.path(), "pad", BusMode::Peer, vec![], vec![endpoint.clone()]), "c")
        .expect("teleop session");
    let operator = Bus::open(&secure(cell.path(), "panel", BusMode::Peer, vec![], vec![endpoint.clone()]), "c")
        .expect("operator session");
    let mut pad_cmd = teleop.publisher(OPERATOR_COMMAND, None).expect("publisher");
    let mut pad_estop = teleop.publisher(ESTOP, Some("pad")).expect("publisher");
    let mut op_cmd = operator.publisher(OPERATOR_COMMAND, None).expect("publisher");
    let reset = OperatorCommand { command: Command::ResetEStop, ..estop() };
    let gains = commands().into_iter().find(|c| matches!(c.command, Command::SetGains(_))).expect("gains");
    let (mut got, mut stops) = (Vec::new(), Vec::new());
    wait_until(60, "the operator's reset and the teleop device's own e-stop", || {
        pad_cmd.publish(&mut reset.clone()).expect("publish");
        pad_cmd.publish(&mut gains.clone()).expect("publish");
        op_cmd.publish(&mut reset.clone()).expect("publish");
        if stops.is_empty() {
            pad_estop.publish(&mut estop()).expect("publish");
        }
        got.extend(std::iter::from_fn(|| commands_in.recv_timeout(Duration::from_millis(40))).take(64));
        stops.extend(std::iter::from_fn(|| estops.try_recv()));
        !stops.is_empty() && !got.is_empty()
    });
    for _ in 0..20 {
        pad_cmd.publish(&mut reset.clone()).expect("publish");
        pad_cmd.publish(&mut gains.clone()).expect("publish");
        op_cmd.publish(&mut reset.clone()).expect("publish");
    }
    let before = got.len();
    wait_until(60, "more of the operator's commands", || {
        got.extend(std::iter::from_fn(|| commands_in.recv_timeout(Duration::from_millis(40))).take(64));
        commands_in.queued() == 0 && got.len() > before
    });
    assert!(stops.iter().all(|s| s.key.ends_with("/pad/estop") && s.msg.command == Command::EStop));
    // The device put its resets and gains on the same key, alternately: none of its gains arrived, so none of its
    // resets did either (access control judges the key and the sender, never the content).
    assert!(got.iter().all(|c| c.msg.command == Command::ResetEStop), "a teleop device's gains arrived");
    let op_sent = op_cmd.publish(&mut reset.clone()).expect("publish") - 1;
    assert!(got.len() as u64 <= op_sent, "{} commands arrived, the operator sent {op_sent}", got.len());
}

/// An observer's subscriptions reach only the keys its role may read: a subscriber on the whole cell (`**`), on
/// the learner's weights or on the actor's transitions (from a session without access control of its own) gets
/// nothing of them, while its subscription on the arm state is served.
#[test]
fn an_observer_cannot_subscribe_to_weights_transitions_or_the_whole_cell() {
    use zenoh::Wait;
    use zenoh::qos::CongestionControl;
    let dir = cell_ca(&[("hub", Role::Cell), ("obs", Role::Observer)]);
    let endpoint = format!("tls/127.0.0.1:{}", free_port());
    let hub = Bus::open(&secure(dir.path(), "hub", BusMode::Peer, vec![endpoint.clone()], vec![]), "c").expect("hub");
    let obs = without_own_acl(dir.path(), "obs", "peer", &endpoint);
    let seen: Deliveries = Default::default();
    let keys = [
        "corrigo/c/**".to_string(),
        interfaces::keys::POLICY_WEIGHTS.key("c"),
        interfaces::keys::TRANSITIONS.key("c"),
        interfaces::keys::ARM_STATE.key("c"),
    ];
    let mut subs = Vec::new();
    for key in keys.clone() {
        let seen = seen.clone();
        let sub = obs.declare_subscriber(key.clone()).callback(move |s| {
            if let Ok(mut seen) = seen.lock() {
                seen.push((key.clone(), s.key_expr().as_str().to_string()));
            }
        });
        subs.push(sub.wait().expect("subscribe"));
    }
    let put = |key: &str| {
        hub.session().put(key, vec![0u8; 8]).congestion_control(CongestionControl::Block).wait().expect("put");
    };
    let count = |sub: &str| seen.lock().map(|s| s.iter().filter(|(k, _)| k == sub).count()).unwrap_or(0);
    wait_until(60, "the observer's arm state", || {
        put(&keys[1]);
        put(&keys[2]);
        put(&keys[3]);
        std::thread::sleep(Duration::from_millis(20));
        count(&keys[3]) > 0
    });
    for _ in 0..20 {
        put(&keys[1]);
        put(&keys[2]);
    }
    let before = count(&keys[3]);
    put(&keys[3]);
    wait_until(60, "the last arm state", || count(&keys[3]) > before);
    assert_eq!((count(&keys[1]), count(&keys[2])), (0, 0), "weights or transitions reached an observer");
    let whole: Vec<String> =
        seen.lock().expect("seen").iter().filter(|(k, _)| *k == keys[0]).map(|(_, d)| d.clone()).collect();
    assert!(
        whole.iter().all(|d| *d == keys[3]),
        "the whole-cell subscriber got only what the arm state one did: {whole:?}"
    );
}

/// A node whose private key others can read does not open its session: the error names the key file and the
/// `chmod 600` that fixes it.
#[test]
fn a_node_whose_private_key_others_can_read_refuses_to_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = cell_ca(&[("ctl", Role::Controller)]);
    let key = bus::security::node_key_path(dir.path(), "ctl");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let endpoint = format!("tls/127.0.0.1:{}", free_port());
    let err = Bus::open(&secure(dir.path(), "ctl", BusMode::Peer, vec![endpoint], vec![]), "c")
        .expect_err("a world-readable key must not be used");
    let text = err.to_string();
    assert!(text.contains(&key.display().to_string()) && text.contains("chmod 600"), "{text}");
    // Issuing from a CA whose key others can read is refused too.
    let ca_key = bus::security::ca_key_path(dir.path());
    std::fs::set_permissions(&ca_key, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let err = certs::issue(dir.path(), "act", Role::Actor, 30).expect_err("a group-readable CA key");
    assert!(err.to_string().contains(&ca_key.display().to_string()), "{err}");
}
