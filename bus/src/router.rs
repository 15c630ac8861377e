use crate::BusError;
use interfaces::config::BusConfig;
use zenoh::Wait;

/// A zenoh router for cells whose nodes run on several machines: nodes in `client` mode (or peers) connect to
/// it. Runs until dropped.
pub struct Router {
    session: zenoh::Session,
    listen: Vec<String>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router").field("listen", &self.listen).finish()
    }
}

/// The endpoints of `listen` bound to every interface of the machine (`0.0.0.0`, `[::]`, `::`): reachable from
/// every network the machine is on.
pub fn on_every_interface(listen: &[String]) -> Vec<String> {
    listen
        .iter()
        .filter(|e| {
            let addr = e.split_once('/').map_or(e.as_str(), |(_, a)| a);
            let addr = addr.split('#').next().unwrap_or(addr);
            let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
            matches!(host, "0.0.0.0" | "[::]" | "::" | "[0:0:0:0:0:0:0:0]")
        })
        .cloned()
        .collect()
}

/// Warns about endpoints listening on every interface: loudly without `[bus.security]` (anyone who reaches the
/// port joins the cell and may put on every key), as a reminder with it. Returns the endpoints warned about.
pub(crate) fn warn_every_interface(what: &str, listen: &[String], secure: bool) -> Vec<String> {
    let open = on_every_interface(listen);
    if open.is_empty() {
        return open;
    }
    if secure {
        tracing::info!(endpoints = ?open, "{what} listens on every interface; only nodes with a certificate of the \
            cell join (bus.security)");
    } else {
        tracing::warn!(endpoints = ?open, "{what} listens on every interface WITHOUT bus.security: anyone who can \
            reach this port joins the cell and may command the arm. Listen on one address (e.g. \
            \"tcp/10.0.0.1:7447\"), firewall the port, or enable [bus.security]");
    }
    open
}

impl Router {
    /// Starts a router listening on `cfg.router_listen` (or `listen` when given), with the TLS and access control
    /// of `[bus.security]` when it is on (the router's certificate is `bus.security.node`'s). The default
    /// `router_listen` is every interface (`tcp/0.0.0.0:7447`): the router warns about it, loudly without
    /// `[bus.security]` ([`on_every_interface`]).
    pub fn start(cfg: &BusConfig, listen: Option<Vec<String>>) -> Result<Router, BusError> {
        let listen = listen.unwrap_or_else(|| cfg.router_listen.clone());
        warn_every_interface("the router", &listen, cfg.security.enabled);
        let err = |reason: String| BusError::Open {
            mode: "router".into(),
            listen: listen.clone(),
            connect: cfg.connect.clone(),
            reason,
        };
        let mut config = zenoh::Config::default();
        let quoted: Vec<String> = listen.iter().map(|s| format!("{s:?}")).collect();
        let security = crate::session::security_settings(cfg, "router", &listen, &cfg.connect)?;
        let base = [
            ("mode".to_string(), "\"router\"".to_string()),
            ("listen/endpoints".to_string(), format!("[{}]", quoted.join(","))),
            ("scouting/multicast/enabled".to_string(), cfg.multicast_scouting.to_string()),
        ];
        for (key, value) in base.into_iter().chain(security) {
            config.insert_json5(&key, &value).map_err(|e| err(format!("config {key} = {value}: {e}")))?;
        }
        let session = zenoh::open(config).wait().map_err(|e| err(e.to_string()))?;
        Ok(Router { session, listen })
    }

    /// Endpoints listened on.
    pub fn listen(&self) -> &[String] {
        &self.listen
    }

    /// zenoh id of the router.
    pub fn id(&self) -> String {
        self.session.zid().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_on_every_interface_are_recognised() {
        let listen: Vec<String> = [
            "tcp/0.0.0.0:7447",
            "tls/[::]:7447",
            "tcp/127.0.0.1:7447",
            "tcp/10.0.0.1:7447",
            "udp/0.0.0.0:7447#iface=eth0",
            "tcp/[::1]:7447",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(on_every_interface(&listen), ["tcp/0.0.0.0:7447", "tls/[::]:7447", "udp/0.0.0.0:7447#iface=eth0"]);
        assert_eq!(on_every_interface(&BusConfig::default().router_listen), ["tcp/0.0.0.0:7447"]);
        assert!(on_every_interface(&BusConfig::default().listen).is_empty(), "peers listen on loopback by default");
    }
}
