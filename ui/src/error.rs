use thiserror::Error;

/// Errors of the operator panel.
#[derive(Debug, Error)]
pub enum UiError {
    /// Neither `DISPLAY` nor `WAYLAND_DISPLAY` is set: there is no screen to open the panel on.
    #[error(
        "no display: neither DISPLAY nor WAYLAND_DISPLAY is set; run the panel on a machine with a screen \
         (or over `ssh -X`), or connect a panel from another machine to this cell's bus"
    )]
    NoDisplay,
    /// The bus refused a subscriber, publisher or token.
    #[error("operator panel: {0}")]
    Bus(#[from] bus::BusError),
    /// A command could not be sent.
    #[error("cannot send {what}: {reason}")]
    Send {
        /// The command or message that was not sent.
        what: String,
        /// Cause.
        reason: String,
    },
    /// The window could not be created or its event loop failed.
    #[error("operator panel window: {0}")]
    Window(String),
}
