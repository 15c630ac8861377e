//! The cell's certificate authority and node certificates (`corrigo certs init|issue`).
//!
//! `init` makes the CA in a folder: `ca.pem` (its certificate, copied to every machine), `ca.key` (its private key,
//! mode 0600, kept on the issuing machine) and an empty role registry `roles.toml`. `issue` makes a node's key
//! (`<node>.key`, mode 0600) and certificate (`<node>.pem`, CN = the node name, OU = its role), signed by the CA,
//! and records the role in `roles.toml`. Issuing again for the same node rotates its key and certificate.

use crate::BusError;
use crate::security::{
    Registry, Role, ca_cert_path, ca_key_path, node_cert_path, node_key_path, registry_path, security_err,
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The CA's distinguished name (the same at `init` and at every `issue`, which rebuilds the issuer from it).
const CA_NAME: &str = "corrigo cell CA";
/// Validity of the CA, days.
pub const CA_DAYS: u32 = 3650;
/// Default validity of a node certificate, days.
pub const NODE_DAYS: u32 = 365;

/// Files written by [`init`].
#[derive(Debug, Clone)]
pub struct CaFiles {
    /// `ca.pem`.
    pub cert: PathBuf,
    /// `ca.key`.
    pub key: PathBuf,
    /// `roles.toml`.
    pub registry: PathBuf,
}

/// Files written by [`issue`].
#[derive(Debug, Clone)]
pub struct NodeFiles {
    /// `<node>.pem`.
    pub cert: PathBuf,
    /// `<node>.key`.
    pub key: PathBuf,
    /// True when an earlier certificate of this node was replaced.
    pub rotated: bool,
}

/// A file name no other process can guess: `.<name>.<64 random bits>.tmp` (std's `RandomState` keys are drawn
/// from the OS's random source).
fn unpredictable_tmp_name(path: &Path) -> PathBuf {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{:016x}.tmp", h.finish()))
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a reader never sees half a
/// file and a key is never readable by others, even for an instant. The temporary file has an unpredictable name
/// and is created exclusively (`O_EXCL`: never an existing file or a symbolic link another user planted) with
/// `mode` from the start.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), BusError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut tries = 0;
    let (tmp, file) = loop {
        let tmp = unpredictable_tmp_name(path);
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 8 => tries += 1,
            Err(e) => return Err(security_err(path, format!("cannot create a temporary file beside it: {e}"))),
        }
    };
    let result = (|| {
        let mut f = file;
        // The umask may have narrowed `mode`, never widened it; set it exactly (a certificate stays readable).
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        security_err(path, format!("cannot write: {e}"))
    })
}

/// Days since 1970-01-01 → (year, month, day) (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i32, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
    (y, m, d)
}

/// Valid from yesterday (clock skew between machines) for `days` days.
fn set_validity(params: &mut CertificateParams, days: u32) {
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_secs() / 86_400) as i64)
        .unwrap_or(0);
    let (y, m, d) = civil_from_days(today - 1);
    params.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = civil_from_days(today + i64::from(days));
    params.not_after = rcgen::date_time_ymd(y, m, d);
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params.distinguished_name.push(DnType::OrganizationName, "corrigo");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params
}

/// Makes the cell's CA in `dir` (created if needed). Refuses to replace an existing `ca.pem` or `ca.key` unless
/// `force` (a new CA invalidates every node certificate issued by the old one). Keeps an existing `roles.toml`.
pub fn init(dir: &Path, force: bool) -> Result<CaFiles, BusError> {
    let files = CaFiles { cert: ca_cert_path(dir), key: ca_key_path(dir), registry: registry_path(dir) };
    std::fs::create_dir_all(dir).map_err(|e| security_err(dir, format!("cannot create the folder: {e}")))?;
    for existing in [&files.cert, &files.key] {
        if existing.exists() && !force {
            return Err(security_err(
                existing,
                "a CA already exists here; pass --force to replace it (every node certificate it signed stops working)",
            ));
        }
    }
    let key = KeyPair::generate().map_err(|e| security_err(&files.key, format!("cannot generate the CA key: {e}")))?;
    let mut params = ca_params();
    set_validity(&mut params, CA_DAYS);
    let cert = params.self_signed(&key).map_err(|e| security_err(&files.cert, format!("cannot sign: {e}")))?;
    write_atomic(&files.key, key.serialize_pem().as_bytes(), 0o600)?;
    write_atomic(&files.cert, cert.pem().as_bytes(), 0o644)?;
    if !files.registry.exists() {
        Registry::default().save(dir)?;
    }
    Ok(files)
}

/// Issues (or rotates) the certificate of `node` with `role`, signed by the CA in `dir`, valid for `days` days.
/// Records the role in `roles.toml`.
pub fn issue(dir: &Path, node: &str, role: Role, days: u32) -> Result<NodeFiles, BusError> {
    if !interfaces::keys::is_valid_chunk(node) {
        return Err(security_err(
            &node_cert_path(dir, node),
            format!("node name {node:?}: use letters, digits, '_' or '-'"),
        ));
    }
    let ca_key_file = ca_key_path(dir);
    if ca_key_file.exists() {
        crate::security::check_key_permissions(&ca_key_file)?;
    }
    let ca_pem = std::fs::read_to_string(&ca_key_file).map_err(|e| {
        security_err(&ca_key_file, format!("cannot read the CA key ({e}); run `corrigo certs init` first"))
    })?;
    let ca_key =
        KeyPair::from_pem(&ca_pem).map_err(|e| security_err(&ca_key_file, format!("not a private key: {e}")))?;
    let ca_cert_file = ca_cert_path(dir);
    std::fs::metadata(&ca_cert_file)
        .map_err(|e| security_err(&ca_cert_file, format!("cannot read the CA certificate: {e}")))?;
    let issuer = Issuer::new(ca_params(), ca_key);
    let files = NodeFiles { cert: node_cert_path(dir, node), key: node_key_path(dir, node), rotated: false };
    let rotated = files.cert.exists() || files.key.exists();
    let key = KeyPair::generate().map_err(|e| security_err(&files.key, format!("cannot generate a key: {e}")))?;
    let mut params = CertificateParams::new(vec![node.to_string()])
        .map_err(|e| security_err(&files.cert, format!("node name {node:?}: {e}")))?;
    params.distinguished_name.push(DnType::CommonName, node);
    params.distinguished_name.push(DnType::OrganizationalUnitName, role.name());
    params.distinguished_name.push(DnType::OrganizationName, "corrigo");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    // Every node both listens and connects: it is a TLS server and a TLS client.
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, days);
    let cert = params.signed_by(&key, &issuer).map_err(|e| security_err(&files.cert, format!("cannot sign: {e}")))?;
    let mut registry = Registry::load(dir)?;
    // Key first: a node restarted between the two writes fails the handshake (key and certificate disagree)
    // rather than run with a key that another copy may hold.
    write_atomic(&files.key, key.serialize_pem().as_bytes(), 0o600)?;
    write_atomic(&files.cert, cert.pem().as_bytes(), 0o644)?;
    registry.nodes.insert(node.to_string(), role);
    registry.save(dir)?;
    Ok(NodeFiles { rotated, ..files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_are_written_through_an_exclusive_unpredictable_temporary_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let key = dir.path().join("node.key");
        // The name an earlier version used (`<name>.tmp<pid>`), planted as a symbolic link to a file another user
        // could read: the key must not land there.
        let planted = dir.path().join("planted");
        std::fs::write(&planted, "").expect("write");
        std::os::unix::fs::symlink(&planted, key.with_extension(format!("tmp{}", std::process::id()))).expect("link");
        write_atomic(&key, b"secret", 0o600).expect("write the key");
        assert_eq!(std::fs::read(&key).expect("key"), b"secret");
        assert_eq!(std::fs::read(&planted).expect("planted"), b"", "nothing written through the planted link");
        assert_eq!(std::fs::metadata(&key).expect("meta").permissions().mode() & 0o777, 0o600);
        let (a, b) = (unpredictable_tmp_name(&key), unpredictable_tmp_name(&key));
        assert_ne!(a, b, "two temporary names differ");
        assert!(a.file_name().is_some_and(|n| n.to_string_lossy().starts_with(".node.key.")), "{a:?}");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "no temporary file left behind");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(super::civil_from_days(20_454), (2026, 1, 1));
    }
}
