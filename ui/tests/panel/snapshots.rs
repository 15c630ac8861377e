//! Snapshots of the panel's main views with fixed data, rendered by wgpu (on CI the CPU renderer lavapipe).
//!
//! Update the images after an intended change with `UPDATE_SNAPSHOTS=1 cargo test -p ui`; the new images are
//! written to `ui/tests/snapshots/`. `docs/panel.png` is a copy of `panel_training.png`.

use crate::fixtures::{fill_training, panel};
use egui::vec2;
use egui_kittest::wgpu::WgpuTestRenderer;
use egui_kittest::{Harness, SnapshotOptions};
use interfaces::msg::ControllerMode;
use ui::Panel;

/// A wgpu renderer, or a failure saying what to install: the snapshot tests never skip silently.
fn renderer() -> WgpuTestRenderer {
    std::panic::catch_unwind(WgpuTestRenderer::new).unwrap_or_else(|_| {
        panic!(
            "the snapshot tests need a wgpu adapter and found none. On Debian/Ubuntu install the Vulkan CPU \
             renderer (lavapipe) with `sudo apt-get install mesa-vulkan-drivers libvulkan1` (scripts/setup.sh \
             does it), or run on a machine with a GPU driver"
        )
    })
}

/// Tolerant comparison: renderers differ in anti-aliasing and text rasterisation at the pixel level.
fn options() -> SnapshotOptions {
    SnapshotOptions::new().threshold(2.0).failed_pixel_count_threshold(4000)
}

fn harness(panel: Panel) -> Harness<'static, Panel> {
    Harness::builder()
        .with_size(vec2(1600.0, 1000.0))
        .with_pixels_per_point(1.0)
        .with_theme(egui::Theme::Dark)
        .renderer(renderer())
        .build_state(|ctx, p: &mut Panel| p.show(ctx), panel)
}

#[test]
fn snapshot_panel_during_training() {
    let (mut p, _sink, _clock) = panel();
    fill_training(&mut p, ControllerMode::Tracking, false, 0.004);
    let mut h = harness(p);
    h.run();
    h.snapshot_options("panel_training", &options());
}

#[test]
fn snapshot_panel_estopped_with_stale_data() {
    let (mut p, _sink, _clock) = panel();
    // The controller stopped publishing 3 s ago; the cameras and the learner go on.
    fill_training(&mut p, ControllerMode::EStopped, true, 3.0);
    let mut h = harness(p);
    h.run();
    h.snapshot_options("panel_estopped_stale", &options());
}

#[test]
fn snapshot_panel_before_any_data() {
    let (p, _sink, _clock) = panel();
    let mut h = harness(p);
    h.run();
    h.snapshot_options("panel_no_data", &options());
}
