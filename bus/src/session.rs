use crate::presence::{NodeToken, Presence};
use crate::publisher::Publisher;
use crate::subscriber::{ArrivalHook, Received, Subscriber};
use crate::{BusError, qos};
use interfaces::config::{BusConfig, BusMode};
use interfaces::keys::Topic;
use interfaces::msg::Message;
use std::net::TcpListener;
use std::sync::Arc;
use zenoh::Wait;

/// A zenoh session of one cell. Cheap to clone; all nodes of a process normally share one.
#[derive(Clone)]
pub struct Bus {
    session: zenoh::Session,
    cell: String,
    listening: Vec<String>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus").field("cell", &self.cell).field("zid", &self.session.zid()).finish()
    }
}

/// True when a TCP endpoint (`tcp/host:port` or `tls/host:port`, port ≠ 0) is already bound by another process
/// on this machine.
fn tcp_endpoint_taken(endpoint: &str) -> bool {
    let Some(addr) = endpoint.strip_prefix("tcp/").or_else(|| endpoint.strip_prefix("tls/")) else { return false };
    let addr = addr.split('#').next().unwrap_or(addr);
    if addr.ends_with(":0") {
        return false;
    }
    matches!(TcpListener::bind(addr), Err(e) if e.kind() == std::io::ErrorKind::AddrInUse)
}

/// An advisory lock (`$TMPDIR/corrigo-bus-host.lock`) held while a node decides whether to host or join.
struct HostLock(std::fs::File);

impl HostLock {
    /// `None` if the lock file cannot be opened or locked (the node then proceeds unserialised).
    fn acquire() -> Option<HostLock> {
        let path = std::env::temp_dir().join("corrigo-bus-host.lock");
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path);
        match file.and_then(|f| f.lock().map(|()| f)) {
            Ok(f) => Some(HostLock(f)),
            Err(e) => {
                tracing::warn!(path = %path.display(), "bus host lock unavailable ({e}); starting unserialised");
                None
            }
        }
    }
}

impl Drop for HostLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

fn json_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(","))
}

impl Bus {
    /// Opens a session for `cell` from its `[bus]` config.
    ///
    /// In peer mode, a TCP listen endpoint already bound by another process on this machine is skipped (that
    /// process is the local hub and this one joins it through `connect`), and a connect endpoint this process
    /// listens on itself is skipped. Errors name the mode and endpoints.
    pub fn open(cfg: &BusConfig, cell: &str) -> Result<Bus, BusError> {
        let mut listen: Vec<String> = cfg.listen.clone();
        let mut connect: Vec<String> = cfg.connect.clone();
        let mode = match cfg.mode {
            BusMode::Peer => "peer",
            BusMode::Client => "client",
        };
        // Two nodes starting together could both find an endpoint free, both try to host it, and the loser
        // would end up neither listening nor connecting. A lock file per machine serialises the probe and the
        // bind between corrigo processes (held until the session listens).
        let _guard = if cfg.mode == BusMode::Peer { HostLock::acquire() } else { None };
        let mut joined = Vec::new();
        if cfg.mode == BusMode::Peer {
            listen.retain(|e| {
                let taken = tcp_endpoint_taken(e);
                if taken {
                    tracing::info!(endpoint = %e, "bus endpoint already hosted by another local node; joining it");
                    joined.push(e.clone());
                }
                !taken
            });
            connect.retain(|e| !listen.contains(e));
        } else {
            listen.clear();
        }
        // Peers do not forward between other peers: two nodes that both joined the local hub reach each other only
        // over a direct link, which gossip sets up if each one listens somewhere. A joiner that hosts nothing
        // listens on an ephemeral port of the hub's interface (`tcp/HOST:0`).
        let side: Vec<String> = match (listen.is_empty(), joined.first()) {
            (true, Some(e)) => ephemeral_on_same_host(e).into_iter().collect(),
            _ => Vec::new(),
        };
        crate::router::warn_every_interface("this node", &listen, cfg.security.enabled);
        let security = security_settings(cfg, mode, &listen, &connect)?;
        let bus =
            Self::open_raw(mode, &[listen.clone(), side].concat(), &connect, cfg.multicast_scouting, &security, cell)?;
        Ok(Bus { listening: listen, ..bus })
    }

    pub(crate) fn open_raw(
        mode: &str,
        listen: &[String],
        connect: &[String],
        multicast: bool,
        extra: &[(String, String)],
        cell: &str,
    ) -> Result<Bus, BusError> {
        let err = |reason: String| BusError::Open {
            mode: mode.to_string(),
            listen: listen.to_vec(),
            connect: connect.to_vec(),
            reason,
        };
        let mut config = zenoh::Config::default();
        let settings = [
            ("mode", format!("{mode:?}")),
            ("listen/endpoints", json_list(listen)),
            ("connect/endpoints", json_list(connect)),
            ("scouting/multicast/enabled", multicast.to_string()),
            ("listen/exit_on_failure", "false".to_string()),
            ("connect/exit_on_failure", "false".to_string()),
        ];
        for (key, value) in settings.iter().map(|(k, v)| (*k, v)).chain(extra.iter().map(|(k, v)| (k.as_str(), v))) {
            config.insert_json5(key, value).map_err(|e| err(format!("config {key} = {value}: {e}")))?;
        }
        let session = zenoh::open(config).wait().map_err(|e| err(e.to_string()))?;
        Ok(Bus { session, cell: cell.to_string(), listening: listen.to_vec() })
    }

    /// The cell this session belongs to.
    pub fn cell(&self) -> &str {
        &self.cell
    }

    /// The same session speaking for another cell: its keys are `cell`'s (a fleet learner serving several cells,
    /// or several simulated cells in one process).
    pub fn for_cell(&self, cell: &str) -> Bus {
        Bus { cell: cell.to_string(), ..self.clone() }
    }

    /// Endpoints this session listens on (after skipping those hosted by another local node).
    pub fn listening(&self) -> &[String] {
        &self.listening
    }

    /// The underlying zenoh session (for advanced uses such as the router's admin queries).
    pub fn session(&self) -> &zenoh::Session {
        &self.session
    }

    /// Key of `topic` in this cell, with `instance` filling its placeholder if it has one.
    pub fn key<T>(&self, topic: Topic<T>, instance: Option<&str>) -> String {
        match instance {
            Some(i) => topic.key_for(&self.cell, i),
            None => topic.key(&self.cell),
        }
    }

    /// Declares a publisher of `topic`'s message type on `topic` (with its class's QoS).
    pub fn publisher<T: Message>(&self, topic: Topic<T>, instance: Option<&str>) -> Result<Publisher<T>, BusError> {
        Publisher::declare(&self.session, self.key(topic, instance), qos::for_topic(topic.info()))
    }

    /// Subscribes to `topic`; `instance = Some("*")` receives every instance (e.g. every camera). The message
    /// type is the topic's own: asking for another does not compile.
    ///
    /// ```no_run
    /// fn arm_states(bus: &bus::Bus) {
    ///     let _ = bus.subscribe::<interfaces::msg::ArmState>(interfaces::keys::ARM_STATE, None);
    /// }
    /// ```
    /// ```compile_fail
    /// fn frames_on_the_arm_state_key(bus: &bus::Bus) {
    ///     let _ = bus.subscribe::<interfaces::msg::Frame>(interfaces::keys::ARM_STATE, None);
    /// }
    /// ```
    pub fn subscribe<T: Message>(&self, topic: Topic<T>, instance: Option<&str>) -> Result<Subscriber<T>, BusError> {
        Subscriber::declare(&self.session, self.key(topic, instance), qos::for_topic(topic.info()), None)
    }

    /// Like [`Bus::subscribe`], and `on_arrival` runs on every message as it is decoded, on the bus's own thread,
    /// before it is queued (so before a full queue could drop it). For what must not wait for the node's thread:
    /// the controller latches an e-stop there. `on_arrival` must be short and must not block (no locks a node
    /// thread holds for long, no I/O); the message is queued as usual after it.
    pub fn subscribe_with<T: Message>(
        &self,
        topic: Topic<T>,
        instance: Option<&str>,
        on_arrival: impl Fn(&Received<T>) + Send + Sync + 'static,
    ) -> Result<Subscriber<T>, BusError> {
        let hook: ArrivalHook<T> = Arc::new(on_arrival);
        Subscriber::declare(&self.session, self.key(topic, instance), qos::for_topic(topic.info()), Some(hook))
    }

    /// Announces that `node` is alive (a liveliness token, withdrawn when dropped or when the process dies).
    pub fn announce(&self, node: &str) -> Result<NodeToken, BusError> {
        NodeToken::declare(&self.session, &self.cell, node)
    }

    /// Tracks which nodes of the cell are alive.
    pub fn presence(&self) -> Result<Presence, BusError> {
        Presence::declare(&self.session, &self.cell)
    }
}

/// `tcp/HOST:0` for a TCP endpoint `tcp/HOST:PORT` (an ephemeral port on the same interface), `tls/HOST:0` for
/// `tls/HOST:PORT`; `None` otherwise.
fn ephemeral_on_same_host(endpoint: &str) -> Option<String> {
    let (proto, rest) = endpoint.split_once('/')?;
    if !matches!(proto, "tcp" | "tls") {
        return None;
    }
    let (host, port) = rest.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    Some(format!("{proto}/{host}:0"))
}

/// The zenoh settings of `[bus.security]` (none when it is off); errors name the file involved and the session.
pub(crate) fn security_settings(
    cfg: &BusConfig,
    mode: &str,
    listen: &[String],
    connect: &[String],
) -> Result<Vec<(String, String)>, BusError> {
    if !cfg.security.enabled {
        return Ok(Vec::new());
    }
    crate::security::zenoh_settings(&cfg.security).map_err(|e| BusError::Open {
        mode: mode.to_string(),
        listen: listen.to_vec(),
        connect: connect.to_vec(),
        reason: format!("bus.security: {e}"),
    })
}
