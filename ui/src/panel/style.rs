//! Colours and small drawing helpers shared by the views.

use egui::{Color32, RichText, Ui};

/// Everything fine.
pub(super) const OK: Color32 = Color32::from_rgb(80, 200, 120);
/// Needs attention.
pub(super) const WARN: Color32 = Color32::from_rgb(235, 170, 40);
/// Stopped, failed or dangerous.
pub(super) const BAD: Color32 = Color32::from_rgb(225, 60, 60);
/// Absent or inactive.
pub(super) const MUTED: Color32 = Color32::from_rgb(130, 130, 130);
/// Neutral information.
pub(super) const INFO: Color32 = Color32::from_rgb(110, 160, 230);

/// A coloured, bold label.
pub(super) fn badge(ui: &mut Ui, text: impl Into<String>, color: Color32) -> egui::Response {
    ui.label(RichText::new(text.into()).strong().color(color))
}

/// A small status dot: filled when `on`, a ring otherwise.
pub(super) fn dot(ui: &mut Ui, color: Color32, on: bool) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
    if on {
        ui.painter().circle_filled(rect.center(), 4.5, color);
    } else {
        ui.painter().circle_stroke(rect.center(), 4.0, egui::Stroke::new(1.5, color));
    }
}

/// A section title.
pub(super) fn section(ui: &mut Ui, text: &str) {
    ui.label(RichText::new(text).size(16.0).strong());
}

/// Formats an age in seconds for a caption: `12 ms`, `3.4 s`.
pub(super) fn age(secs: f64) -> String {
    if secs < 1.0 { format!("{:.0} ms", (secs * 1000.0).max(0.0)) } else { format!("{secs:.1} s") }
}

/// Formats a count with thin grouping (`18 400`).
pub(super) fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(18_400), "18 400");
        assert_eq!(count(1_234_567), "1 234 567");
        assert_eq!(age(0.0123), "12 ms");
        assert_eq!(age(3.42), "3.4 s");
    }
}
