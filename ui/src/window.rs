//! The native window: an eframe app that drains the bus into the panel and draws it at about 30 Hz.

use crate::feed::BusFeed;
use crate::panel::Panel;
use crate::sink::{BusSink, EStopRoute};
use crate::{UiError, display_available};
use bus::Bus;
use interfaces::{CellConfig, MonotonicClock};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Refresh period of the window.
const REFRESH: Duration = Duration::from_millis(33);

struct PanelApp {
    panel: Panel,
    feed: BusFeed,
    stop: Option<Arc<AtomicBool>>,
}

impl eframe::App for PanelApp {
    fn update(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if self.stop.as_ref().is_some_and(|s| s.load(Ordering::Acquire)) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        self.feed.drain_into(self.panel.state_mut());
        self.panel.show(ctx);
        ctx.request_repaint_after(REFRESH);
    }
}

/// Opens the operator panel of the cell `cfg` on `bus` in a window and blocks until the window is closed.
///
/// The panel subscribes to every topic it shows, announces itself as node `panel`, and publishes operator
/// commands and joystick samples on the same bus. Call it from the main thread (some platforms require the window
/// event loop there). Errors: [`UiError::NoDisplay`] without a display (checked first, see
/// [`display_available`]), [`UiError::Bus`] when a subscription fails, [`UiError::Window`] when the window cannot
/// be created.
pub fn run_panel(bus: Bus, cfg: CellConfig) -> Result<(), UiError> {
    run_panel_until(bus, cfg, None)
}

/// [`run_panel`], and the window also closes when `stop` is set (Ctrl-C in the process that opened it).
pub fn run_panel_until(bus: Bus, cfg: CellConfig, stop: Option<Arc<AtomicBool>>) -> Result<(), UiError> {
    if !display_available() {
        return Err(UiError::NoDisplay);
    }
    let feed = BusFeed::open(&bus)?;
    let sink = BusSink::new(&bus, &EStopRoute::for_bus(&cfg.bus))?;
    let panel = Panel::new(&cfg, Box::new(sink), Arc::new(MonotonicClock));
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(format!("corrigo · {}", cfg.cell.name))
            .with_inner_size([1600.0, 1000.0])
            .with_min_inner_size([1100.0, 700.0]),
        ..Default::default()
    };
    eframe::run_native(
        &format!("corrigo-panel-{}", cfg.cell.name),
        options,
        Box::new(move |cc| {
            cc.egui_ctx.set_theme(egui::Theme::Dark);
            Ok(Box::new(PanelApp { panel, feed, stop }))
        }),
    )
    .map_err(|e| UiError::Window(e.to_string()))
}
