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
    /// Endpoints a `corrigo router` listens on.
    pub router_listen: Vec<String>,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            mode: BusMode::Peer,
            listen: vec!["tcp/127.0.0.1:7447".into()],
            connect: vec!["tcp/127.0.0.1:7447".into()],
            multicast_scouting: false,
            router_listen: vec!["tcp/0.0.0.0:7447".into()],
        }
    }
}

/// Checks that an endpoint looks like `<proto>/<address>` with a known protocol.
pub fn endpoint_ok(e: &str) -> bool {
    match e.split_once('/') {
        Some((proto, addr)) => matches!(proto, "tcp" | "udp") && !addr.is_empty(),
        None => false,
    }
}

impl BusConfig {
    pub(crate) fn validate(&self, v: &mut Validator) {
        for (key, list) in
            [("bus.listen", &self.listen), ("bus.connect", &self.connect), ("bus.router_listen", &self.router_listen)]
        {
            for (i, e) in list.iter().enumerate() {
                if !endpoint_ok(e) {
                    v.push(&format!("{key}[{i}]"), format!("{e:?}"), "an endpoint like \"tcp/127.0.0.1:7447\"");
                }
            }
        }
        if self.mode == BusMode::Client && self.connect.is_empty() {
            v.push("bus.connect", "[]".into(), "at least one router endpoint when bus.mode = \"client\"");
        }
    }
}
