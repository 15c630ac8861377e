//! Impedance gain sliders. Every slider is bounded by the validated range of its gain
//! ([`interfaces::config::gain_ranges`]), so no value outside it can be entered; the gains are re-checked with
//! [`interfaces::config::check_gains`] before they are sent as one `SetGains` command.

use super::Panel;
use super::style::{BAD, MUTED};
use egui::{CollapsingHeader, RichText, Slider, SliderClamping, Ui};
use interfaces::config::{check_gains, gain_ranges};
use interfaces::msg::{Command, ImpedanceGains};

/// Labels of the gain controls (tests find the widgets by them).
pub mod labels {
    /// The collapsible section.
    pub const SECTION: &str = "Impedance gains";
    /// Sends the edited gains.
    pub const APPLY: &str = "Apply gains";
    /// Returns the sliders to the gains last sent.
    pub const REVERT: &str = "Revert";
}

/// Slider names of the gains, in the order of [`gain_ranges`].
const NAMES: [&str; 7] = [
    "trans. stiffness",
    "rot. stiffness",
    "trans. damping",
    "rot. damping",
    "trans. clip",
    "rot. clip",
    "nullspace stiffness",
];

/// Accessible label of one gain slider: `trans. stiffness x` … `nullspace stiffness`.
pub fn slider_label(gain: usize, axis: Option<usize>) -> String {
    match axis {
        Some(a) => format!("{} {}", NAMES[gain], ["x", "y", "z"][a]),
        None => NAMES[gain].to_string(),
    }
}

/// The gains being edited and those last sent.
#[derive(Debug, Clone)]
pub(super) struct GainsEditor {
    pub(super) edited: ImpedanceGains,
    pub(super) applied: ImpedanceGains,
    problems: Vec<String>,
}

impl GainsEditor {
    pub(super) fn new(initial: ImpedanceGains) -> Self {
        Self { edited: initial, applied: initial, problems: Vec::new() }
    }
}

fn arrays(g: &mut ImpedanceGains) -> [&mut [f64; 3]; 6] {
    [
        &mut g.translational_stiffness,
        &mut g.rotational_stiffness,
        &mut g.translational_damping,
        &mut g.rotational_damping,
        &mut g.translational_clip,
        &mut g.rotational_clip,
    ]
}

fn slider<'a>(value: &'a mut f64, lo: f64, hi: f64, unit: &str, label: String, log: bool) -> Slider<'a> {
    Slider::new(value, lo..=hi)
        .clamping(SliderClamping::Always)
        .logarithmic(log)
        .max_decimals(4)
        .suffix(format!(" {unit}"))
        .text(label)
}

pub(super) fn show(p: &mut Panel, ui: &mut Ui) {
    let mut apply = false;
    CollapsingHeader::new(RichText::new(labels::SECTION).size(16.0).strong()).id_salt("gains").show(ui, |ui| {
        ui.label(RichText::new("Within the validated ranges; sent together with Apply.").color(MUTED).small());
        let ranges = gain_ranges();
        let ed = &mut p.gains;
        for (i, arr) in arrays(&mut ed.edited).into_iter().enumerate() {
            let (_, lo, hi, unit) = ranges[i];
            let log = i >= 4; // clips span two decades
            for (axis, v) in arr.iter_mut().enumerate() {
                ui.add(slider(v, lo, hi, unit, slider_label(i, Some(axis)), log))
                    .on_hover_text(format!("{lo} ≤ value ≤ {hi} {unit}"));
            }
        }
        let (_, lo, hi, unit) = ranges[6];
        ui.add(slider(&mut ed.edited.nullspace_stiffness, lo, hi, unit, slider_label(6, None), false))
            .on_hover_text(format!("{lo} ≤ value ≤ {hi} {unit}"));
        ui.horizontal(|ui| {
            let changed = ed.edited != ed.applied;
            apply = ui.add_enabled(changed, egui::Button::new(labels::APPLY)).clicked();
            if ui.add_enabled(changed, egui::Button::new(labels::REVERT)).clicked() {
                ed.edited = ed.applied;
            }
        });
        for problem in &ed.problems {
            ui.label(RichText::new(problem).color(BAD).small());
        }
    });
    if apply {
        let problems = check_gains(&p.gains.edited, "gains");
        if problems.is_empty() {
            p.gains.problems.clear();
            p.gains.applied = p.gains.edited;
            p.send(Command::SetGains(p.gains.edited));
        } else {
            p.gains.problems = problems.iter().map(|pr| pr.to_string()).collect();
        }
    }
}
