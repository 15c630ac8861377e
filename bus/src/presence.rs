use crate::BusError;
use interfaces::keys::liveliness_key;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use zenoh::Wait;
use zenoh::sample::SampleKind;

/// Keeps a node announced as alive while it exists.
pub struct NodeToken {
    _token: zenoh::liveliness::LivelinessToken,
    node: String,
}

impl std::fmt::Debug for NodeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeToken").field("node", &self.node).finish()
    }
}

impl NodeToken {
    pub(crate) fn declare(session: &zenoh::Session, cell: &str, node: &str) -> Result<Self, BusError> {
        let key = liveliness_key(cell, node);
        let token = session.liveliness().declare_token(key.clone()).wait().map_err(|e| BusError::Declare {
            what: "liveliness token",
            key,
            reason: e.to_string(),
        })?;
        Ok(Self { _token: token, node: node.to_string() })
    }
}

/// The set of alive nodes of a cell, kept up to date from liveliness tokens.
pub struct Presence {
    _sub: zenoh::pubsub::Subscriber<()>,
    alive: Arc<Mutex<BTreeSet<String>>>,
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presence").field("alive", &self.alive()).finish()
    }
}

impl Presence {
    pub(crate) fn declare(session: &zenoh::Session, cell: &str) -> Result<Self, BusError> {
        let key = liveliness_key(cell, "*");
        let alive = Arc::new(Mutex::new(BTreeSet::new()));
        let a = alive.clone();
        let sub = session
            .liveliness()
            .declare_subscriber(key.clone())
            .history(true)
            .callback(move |sample| {
                let node = sample.key_expr().as_str().rsplit('/').next().unwrap_or_default().to_string();
                if let Ok(mut set) = a.lock() {
                    match sample.kind() {
                        SampleKind::Put => set.insert(node),
                        SampleKind::Delete => set.remove(&node),
                    };
                }
            })
            .wait()
            .map_err(|e| BusError::Declare { what: "liveliness subscriber", key, reason: e.to_string() })?;
        Ok(Self { _sub: sub, alive })
    }

    /// Names of the nodes alive now, sorted.
    pub fn alive(&self) -> Vec<String> {
        self.alive.lock().map(|s| s.iter().cloned().collect()).unwrap_or_default()
    }

    /// True when `node` is alive.
    pub fn is_alive(&self, node: &str) -> bool {
        self.alive.lock().map(|s| s.contains(node)).unwrap_or(false)
    }
}
