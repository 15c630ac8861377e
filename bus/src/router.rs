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

impl Router {
    /// Starts a router listening on `cfg.router_listen` (or `listen` when given), with the TLS and access control
    /// of `[bus.security]` when it is on (the router's certificate is `bus.security.node`'s).
    pub fn start(cfg: &BusConfig, listen: Option<Vec<String>>) -> Result<Router, BusError> {
        let listen = listen.unwrap_or_else(|| cfg.router_listen.clone());
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
