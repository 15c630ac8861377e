//! Finding SpaceMouse hidraw nodes through sysfs (`/sys/class/hidraw/hidrawN/device/uevent`).

use std::path::{Path, PathBuf};

/// 3Dconnexion's own USB vendor id (current models and the universal receiver).
pub const VENDOR_3DCONNEXION: u16 = 0x256f;
/// Logitech's vendor id, used by older 3Dconnexion models (products `0xc6xx`).
pub const VENDOR_LOGITECH: u16 = 0x046d;

/// One SpaceMouse found in sysfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HidrawDevice {
    /// Device node, e.g. `/dev/hidraw3`.
    pub path: PathBuf,
    /// USB vendor id.
    pub vendor: u16,
    /// USB product id.
    pub product: u16,
    /// Name the device reports (`HID_NAME`), e.g. `3Dconnexion SpaceMouse Compact`.
    pub name: String,
}

/// Parses a hidraw `uevent` file: `(vendor, product, name)` from its `HID_ID=bus:vendor:product` (hex) and
/// `HID_NAME=` lines; `None` when `HID_ID` is missing or malformed.
pub fn parse_uevent(text: &str) -> Option<(u16, u16, String)> {
    let mut ids = None;
    let mut name = String::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("HID_ID=") {
            let mut parts = v.trim().split(':');
            let _bus = parts.next()?;
            let vendor = u32::from_str_radix(parts.next()?, 16).ok()?;
            let product = u32::from_str_radix(parts.next()?, 16).ok()?;
            ids = Some((u16::try_from(vendor).ok()?, u16::try_from(product).ok()?));
        } else if let Some(v) = line.strip_prefix("HID_NAME=") {
            name = v.trim().to_string();
        }
    }
    ids.map(|(v, p)| (v, p, name))
}

/// True for a 3Dconnexion 6-DoF device: any product of vendor `0x256f`, or a `0xc6xx` product of `0x046d`
/// (Logitech's other devices — mice, keyboards, receivers — use other product ranges).
pub fn is_spacemouse(vendor: u16, product: u16) -> bool {
    vendor == VENDOR_3DCONNEXION || (vendor == VENDOR_LOGITECH && product & 0xff00 == 0xc600)
}

/// Lists SpaceMice under `sysfs_hidraw` (normally `/sys/class/hidraw`), mapping `hidrawN` to `dev_dir/hidrawN`,
/// sorted by node name. Unreadable entries are skipped.
pub fn find_spacemice(sysfs_hidraw: &Path, dev_dir: &Path) -> Vec<HidrawDevice> {
    let Ok(entries) = std::fs::read_dir(sysfs_hidraw) else { return Vec::new() };
    let mut found: Vec<HidrawDevice> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let node = e.file_name().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(e.path().join("device/uevent")).ok()?;
            let (vendor, product, name) = parse_uevent(&text)?;
            is_spacemouse(vendor, product).then(|| HidrawDevice { path: dev_dir.join(&node), vendor, product, name })
        })
        .collect();
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(root: &Path, node: &str, uevent: &str) {
        let d = root.join(node).join("device");
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join("uevent"), uevent).expect("write uevent");
    }

    #[test]
    fn finds_wired_and_wireless_spacemice_and_skips_other_hid_devices() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        add(root, "hidraw0", "DRIVER=hid-generic\nHID_ID=0003:0000046D:0000C52B\nHID_NAME=Logitech USB Receiver\n");
        add(
            root,
            "hidraw3",
            "DRIVER=hid-generic\nHID_ID=0003:0000256F:0000C652\nHID_NAME=3Dconnexion Universal Receiver\n",
        );
        add(root, "hidraw2", "HID_ID=0003:0000046D:0000C62B\nHID_NAME=3Dconnexion SpaceMouse Pro\nHID_UNIQ=\n");
        add(root, "hidraw1", "HID_ID=0003:000004F3:00000C4B\nHID_NAME=ELAN Touchscreen\n");
        add(root, "hidraw4", "HID_NAME=no id line\n");
        let found = find_spacemice(root, Path::new("/dev"));
        let summary: Vec<(String, u16, u16)> =
            found.iter().map(|d| (d.path.display().to_string(), d.vendor, d.product)).collect();
        assert_eq!(
            summary,
            [("/dev/hidraw2".to_string(), 0x046d, 0xc62b), ("/dev/hidraw3".to_string(), 0x256f, 0xc652)]
        );
        assert_eq!(found[0].name, "3Dconnexion SpaceMouse Pro");
        assert!(find_spacemice(&root.join("missing"), Path::new("/dev")).is_empty());
    }

    #[test]
    fn uevent_parsing_rejects_malformed_ids() {
        assert_eq!(parse_uevent("HID_ID=0003:0000256F:0000C635\n"), Some((0x256f, 0xc635, String::new())));
        assert_eq!(parse_uevent("HID_ID=0003:zz:0000C635\n"), None);
        assert_eq!(parse_uevent("HID_ID=0003:0001256F:0000C635\n"), None, "vendor wider than 16 bits");
        assert_eq!(parse_uevent("HID_NAME=x\n"), None);
    }
}
