//! Learning: the learner's headline figures and its curves over time.

use super::style::{BAD, INFO, MUTED, OK, WARN, age, badge, count, section};
use crate::state::{Curve, PanelState};
use egui::{Color32, RichText, Ui};
use egui_plot::{AxisHints, Corner, Legend, Line, LineStyle, Plot, PlotPoints};
use interfaces::Stamp;

/// One plot: its title, curves (with colours), and the y range it always shows.
struct PlotSpec {
    title: &'static str,
    curves: &'static [(Curve, Color32, bool)],
    y_range: Option<(f64, f64)>,
    legend: Corner,
}

const ORANGE: Color32 = Color32::from_rgb(240, 140, 60);
const PURPLE: Color32 = Color32::from_rgb(170, 120, 230);

/// The plots in drawing order (three per row). The `bool` draws a curve dashed.
const PLOTS: [PlotSpec; 6] = [
    PlotSpec {
        title: "success and intervention rate",
        curves: &[
            (Curve::SuccessRate, OK, false),
            (Curve::SuccessLow, OK, true),
            (Curve::SuccessHigh, OK, true),
            (Curve::InterventionRate, ORANGE, false),
        ],
        y_range: Some((0.0, 1.0)),
        legend: Corner::LeftTop,
    },
    PlotSpec {
        title: "episode return",
        curves: &[(Curve::EpisodeReturn, INFO, false)],
        y_range: None,
        legend: Corner::LeftTop,
    },
    PlotSpec {
        title: "losses",
        curves: &[(Curve::CriticLoss, ORANGE, false), (Curve::ActorLoss, PURPLE, false)],
        y_range: None,
        legend: Corner::LeftBottom,
    },
    PlotSpec {
        title: "temperature α",
        curves: &[(Curve::Temperature, PURPLE, false)],
        y_range: Some((0.0, 0.0)),
        legend: Corner::RightTop,
    },
    PlotSpec {
        title: "critic updates per second",
        curves: &[(Curve::UpdatesPerS, INFO, false)],
        y_range: Some((0.0, 0.0)),
        legend: Corner::RightBottom,
    },
    PlotSpec {
        title: "replay buffers (transitions)",
        curves: &[(Curve::OnlineSize, INFO, false), (Curve::DemoSize, ORANGE, false)],
        y_range: Some((0.0, 0.0)),
        legend: Corner::LeftTop,
    },
];

pub(super) fn show(state: &PanelState, ui: &mut Ui, now: Stamp) {
    ui.horizontal(|ui| {
        section(ui, "Learning");
        match &state.metrics {
            Some(m) => {
                let age_s = now.secs_since(m.received);
                let color = if age_s > state.stale_limits.metrics_s { BAD } else { MUTED };
                badge(ui, format!("metrics {} old", age(age_s)), color);
            }
            None => {
                badge(ui, "no learner metrics yet (is the learner running?)", WARN);
            }
        }
    });
    if let Some(m) = &state.metrics {
        let m = &m.msg;
        ui.horizontal_wrapped(|ui| {
            badge(ui, format!("policy v{}", m.policy_version), INFO);
            ui.separator();
            ui.label(format!("step {}", count(m.step)));
            ui.separator();
            ui.label(format!("updates {} ({:.1}/s)", count(m.updates), m.updates_per_s));
            ui.separator();
            ui.label(format!("buffers: online {} · demo {}", count(m.online_size), count(m.demo_size)));
            ui.separator();
            let success = match (m.success_rate, m.success_ci95) {
                (Some(r), Some(c)) => format!("success {:.0}% ± {:.0}%", r * 100.0, c * 100.0),
                (Some(r), None) => format!("success {:.0}%", r * 100.0),
                _ => "success –".into(),
            };
            ui.label(RichText::new(success).strong());
            ui.separator();
            let opt = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map(f).unwrap_or_else(|| "–".into());
            ui.label(format!("return {}", opt(m.episode_return, &|v| format!("{v:.2}"))));
            ui.separator();
            ui.label(format!("interventions {}", opt(m.intervention_rate, &|v| format!("{:.0}%", v * 100.0))));
        });
        if !m.fleet.is_empty() {
            fleet(ui, &m.fleet);
        }
    }
    let spacing = ui.spacing().item_spacing.x;
    let width = ((ui.available_width() - 2.0 * spacing) / 3.0).max(120.0);
    for row in PLOTS.chunks(3) {
        ui.horizontal(|ui| {
            for spec in row {
                ui.vertical(|ui| {
                    ui.set_width(width);
                    ui.label(RichText::new(spec.title).strong());
                    plot(ui, state, spec, width);
                });
            }
        });
    }
}

fn plot(ui: &mut Ui, state: &PanelState, spec: &PlotSpec, width: f32) {
    let mut p = Plot::new(spec.title)
        .width(width)
        .height(110.0)
        .legend(Legend::default().position(spec.legend))
        .allow_scroll(false)
        // Denser x labels than the default (plots are narrow; ten-minute marks must stay readable).
        .custom_x_axes(vec![AxisHints::new_x().label("minutes").label_spacing(24.0..=40.0)]);
    if let Some((lo, hi)) = spec.y_range {
        p = p.include_y(lo).include_y(hi);
    }
    p.show(ui, |plot| {
        for &(curve, color, dashed) in spec.curves {
            let pts = state.learning.points(curve);
            if pts.is_empty() {
                continue;
            }
            // The interval bounds stay out of the legend (an empty name has no entry).
            let name = if dashed { "" } else { curve.name() };
            let mut line = Line::new(name, PlotPoints::from(pts.to_vec())).color(color);
            if dashed {
                line = line.style(LineStyle::dashed_loose()).width(1.0);
            } else {
                line = line.width(1.5);
            }
            plot.line(line);
        }
    });
}

/// The cells of a fleet learner: one row each (steps, rate, success with its interval, interventions, refusal).
fn fleet(ui: &mut Ui, cells: &[interfaces::msg::CellFigures]) {
    ui.label(RichText::new(format!("fleet: {} cells", cells.len())).strong());
    egui::Grid::new("fleet").striped(true).spacing([12.0, 2.0]).show(ui, |ui| {
        for h in ["cell", "transitions", "per s", "success (episodes)", "interventions", "state"] {
            ui.label(RichText::new(h).color(MUTED));
        }
        ui.end_row();
        for c in cells {
            ui.label(RichText::new(&c.cell).strong());
            ui.label(count(c.steps));
            ui.label(format!("{:.1}", c.steps_per_s));
            ui.label(match (c.success_rate, c.success_ci95) {
                (Some(r), Some(h)) => format!("{:.0}% ± {:.0}% ({})", r * 100.0, h * 100.0, c.episodes),
                (Some(r), None) => format!("{:.0}% ({})", r * 100.0, c.episodes),
                _ => "–".into(),
            });
            ui.label(c.intervention_rate.map_or("–".into(), |v| format!("{:.0}%", v * 100.0)));
            match &c.refused {
                Some(why) => ui.label(RichText::new(format!("refused: {why}")).color(BAD)),
                None => ui.label(RichText::new("serving").color(OK)),
            };
            ui.end_row();
        }
    });
}
