//! The secure cell profile: certificates, mutual TLS (an uncertified node never joins) and access control by role
//! (a certified node without the role cannot put a pose target, yet its e-stop goes through).
//!
//! No timing thresholds: each test waits (generous deadlines) for a positive event first, publishing again until
//! it happens, and only then asserts that the denied messages, sent all along beside it, never arrived.

mod common;

use bus::security::{Registry, Role};
use bus::{Bus, Router, certs};
use common::{commands, free_port, pose_target, wait_until};
use interfaces::config::{BusConfig, BusMode, BusSecurity};
use interfaces::keys::{ESTOP, POSE_TARGET};
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
