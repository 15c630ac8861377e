//! `corrigo report`: a run directory's learning curves, evaluations and config as one static HTML file (inline SVG
//! charts drawn with plotters; no server, no script), for a lab notebook.
//!
//! The curves come from `metrics.jsonl` (success rate with its 95 % interval, return, intervention rate, losses,
//! update cycles/s, and the learner's diagnostics when it wrote them: critic values on demo against online data,
//! dormant units, the behaviour prior's share), each against environment steps and against wall time (minutes since the first sample,
//! learner restarts included); the evaluation table from `evals.jsonl`. The exact points of every chart are embedded in
//! the file as JSON (`<script type="application/json" id="corrigo-report-data">`), so a reader can check or reuse
//! them.

use agent::node::runlog;
use anyhow::{Context, Result, anyhow};
use plotters::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// One curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// Its name in the legend.
    pub name: String,
    /// `(x, y)` points, in the order of the samples.
    pub points: Vec<(f64, f64)>,
}

/// One chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    /// Title.
    pub title: String,
    /// What x is.
    pub x: String,
    /// Its curves.
    pub series: Vec<Series>,
}

/// What a report holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Metrics samples read.
    pub samples: usize,
    /// Lines of `metrics.jsonl` that could not be read (a line cut by a crash).
    pub skipped: usize,
    /// The charts.
    pub charts: Vec<Chart>,
    /// Evaluations (the lines of `evals.jsonl`).
    pub evals: usize,
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// An x axis: its name and how a sample gives its x.
type Axis<'a> = (&'a str, &'a dyn Fn(&Value) -> Option<f64>);

/// The charts of `metrics` (the lines of `metrics.jsonl`).
pub fn charts(metrics: &[Value]) -> Vec<Chart> {
    let t0 = metrics.iter().find_map(|m| m["time_unix_s"].as_f64()).unwrap_or(0.0);
    let step = |m: &Value| m["step"].as_f64();
    let minutes = |m: &Value| m["time_unix_s"].as_f64().map(|t| (t - t0) / 60.0);
    let field = |name: &'static str| move |m: &Value| m[name].as_f64();
    let series = |name: &str, x: &dyn Fn(&Value) -> Option<f64>, y: &dyn Fn(&Value) -> Option<f64>| Series {
        name: name.to_string(),
        points: metrics.iter().filter_map(|m| Some((x(m)?, y(m)?))).collect(),
    };
    let lo = |m: &Value| Some((m["success_rate"].as_f64()? - m["success_ci95"].as_f64()?).max(0.0));
    let hi = |m: &Value| Some((m["success_rate"].as_f64()? + m["success_ci95"].as_f64()?).min(1.0));
    let success = |x: &dyn Fn(&Value) -> Option<f64>| {
        vec![
            series("success rate", x, &field("success_rate")),
            series("95% interval, low", x, &lo),
            series("95% interval, high", x, &hi),
        ]
    };
    let steps_x: Axis<'_> = ("env steps", &step);
    let wall_x: Axis<'_> = ("wall time, minutes", &minutes);
    let mut out = Vec::new();
    // Every curve against env steps and against wall time.
    for (x_name, x) in [steps_x, wall_x] {
        out.push(Chart { title: "success rate (recent episodes)".into(), x: x_name.into(), series: success(x) });
        out.push(Chart {
            title: "episode return".into(),
            x: x_name.into(),
            series: vec![series("return", x, &field("episode_return"))],
        });
        out.push(Chart {
            title: "intervention rate".into(),
            x: x_name.into(),
            series: vec![series("human share of steps", x, &field("intervention_rate"))],
        });
        out.push(Chart {
            title: "losses".into(),
            x: x_name.into(),
            series: vec![series("critic", x, &field("critic_loss")), series("actor", x, &field("actor_loss"))],
        });
        out.push(Chart {
            title: "update cycles per second".into(),
            x: x_name.into(),
            series: vec![series("updates/s", x, &field("updates_per_s"))],
        });
        if metrics.iter().any(|m| m["diagnostics"].is_object()) {
            let diag = |name: &'static str| move |m: &Value| m["diagnostics"][name].as_f64();
            out.push(Chart {
                title: "critic values: demonstrations against online data".into(),
                x: x_name.into(),
                series: vec![
                    series("Q of demo actions", x, &diag("q_demo")),
                    series("Q of online actions", x, &diag("q_online")),
                    series("Q of the actor at demo states", x, &diag("q_policy_demo")),
                    series("Q of the actor at online states", x, &diag("q_policy_online")),
                ],
            });
            out.push(Chart {
                title: "dormant units and the behaviour prior".into(),
                x: x_name.into(),
                series: vec![
                    series("dormant critic units", x, &diag("dormant_critic")),
                    series("dormant actor units", x, &diag("dormant_actor")),
                    series("prior's proposal preferred", x, &diag("prior_share")),
                ],
            });
        }
    }
    out
}

/// The chart drawn as an SVG document.
pub fn svg(chart: &Chart) -> Result<String> {
    let err = |e: &dyn std::fmt::Debug| anyhow!("drawing {:?}: {e:?}", chart.title);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (560, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let all = chart.series.iter().flat_map(|s| s.points.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in all {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        if x0 > x1 {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        if x1 - x0 < 1e-9 {
            x1 = x0 + 1.0;
        }
        if y1 - y0 < 1e-9 {
            (y0, y1) = (y0 - 0.5, y1 + 0.5);
        }
        let mut c = ChartBuilder::on(&root)
            .caption(&chart.title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(&e))?;
        c.configure_mesh().x_desc(&chart.x).light_line_style(WHITE.mix(0.0)).draw().map_err(|e| err(&e))?;
        for (i, s) in chart.series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            c.draw_series(LineSeries::new(s.points.iter().copied(), color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(&s.name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        }
        if chart.series.iter().any(|s| !s.points.is_empty()) {
            c.configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(out)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Writes the report of `run_dir` to `out` (HTML), with `config` (the cell config as TOML) at its end.
pub fn write(run_dir: &Path, out: &Path, config: &str) -> Result<Report> {
    let metrics_path = run_dir.join("metrics.jsonl");
    let (metrics, skipped) = runlog::read(&metrics_path)
        .with_context(|| format!("reading {} (a learner writes it while it trains)", metrics_path.display()))?;
    let evals = runlog::read(run_dir.join("evals.jsonl")).map(|(v, _)| v).unwrap_or_default();
    let charts = charts(&metrics);
    let mut html = String::new();
    html += "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>corrigo report</title>\n<style>body{font-family:sans-serif;margin:24px}figure{display:inline-block;margin:6px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}pre{background:#f4f4f4;padding:8px}</style></head><body>\n";
    html += &format!(
        "<h1>corrigo report</h1>\n<p>run directory <code>{}</code>: {} metrics samples{}, {} evaluations</p>\n",
        escape(&run_dir.display().to_string()),
        metrics.len(),
        if skipped > 0 { format!(" ({skipped} unreadable lines skipped)") } else { String::new() },
        evals.len()
    );
    html += "<h2>Learning curves</h2>\n";
    for c in &charts {
        html += &format!("<figure>{}</figure>\n", svg(c)?);
    }
    html += "<h2>Evaluations</h2>\n";
    if evals.is_empty() {
        html += "<p>none (<code>corrigo eval</code> adds one)</p>\n";
    } else {
        html += "<table><tr><th>updates</th><th>episodes</th><th>seed</th><th>success</th><th>95% interval</th><th>return</th><th>length</th><th>cycle ms</th></tr>\n";
        for e in &evals {
            let f = |k: &str| e[k].as_f64().map_or("–".to_string(), |v| format!("{v:.2}"));
            let ci = e["success_ci95"].as_array().map_or("–".to_string(), |a| {
                format!("{:.0}–{:.0}%", 100.0 * a[0].as_f64().unwrap_or(0.0), 100.0 * a[1].as_f64().unwrap_or(0.0))
            });
            html += &format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.0}%</td><td>{ci}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                e["updates"],
                e["episodes"],
                e["seed"],
                100.0 * e["success_rate"].as_f64().unwrap_or(0.0),
                f("return_mean"),
                f("length_mean"),
                f("cycle_ms_mean")
            );
        }
        html += "</table>\n";
    }
    html += &format!("<h2>Config</h2>\n<pre>{}</pre>\n", escape(config));
    let data = serde_json::to_string(&serde_json::json!({ "charts": charts }))?.replace("</", "<\\/");
    html += &format!("<script type=\"application/json\" id=\"corrigo-report-data\">{data}</script>\n</body></html>\n");
    let tmp = out.with_extension("html.tmp");
    std::fs::write(&tmp, html).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("writing {}", out.display()))?;
    Ok(Report { samples: metrics.len(), skipped, charts, evals: evals.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The learner's diagnostics get their charts when the metrics carry them, with their values.
    #[test]
    fn diagnostics_are_charted_when_the_metrics_carry_them() {
        let plain: Vec<Value> =
            (0..3).map(|i| serde_json::json!({"step": i, "time_unix_s": 10.0 * f64::from(i)})).collect();
        let n = charts(&plain).len();
        let with: Vec<Value> = (0..3)
            .map(|i| {
                let f = f64::from(i);
                serde_json::json!({"step": i, "time_unix_s": 10.0 * f, "diagnostics": {
                    "q_demo": 0.6, "q_online": 0.1 * f, "q_policy_demo": 0.5, "q_policy_online": 0.2 * f,
                    "dormant_critic": 0.01 * f, "dormant_actor": 0.0, "prior_share": 0.5 - 0.1 * f}})
            })
            .collect();
        let c = charts(&with);
        assert_eq!(c.len(), n + 4, "two diagnostics charts, against env steps and against wall time");
        let values = c.iter().find(|c| c.title.starts_with("critic values")).expect("the critic values chart");
        assert_eq!(values.series[1].points, vec![(0.0, 0.0), (1.0, 0.1), (2.0, 0.2)]);
        let prior = c.iter().find(|c| c.title.starts_with("dormant")).expect("the dormant units chart");
        assert_eq!(prior.series[2].points, vec![(0.0, 0.5), (1.0, 0.4), (2.0, 0.3)]);
    }

    /// The report's embedded points are the metrics' values, and each chart's SVG draws one polyline of as many
    /// points per curve.
    #[test]
    fn the_plotted_points_are_the_metrics_values() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = runlog::JsonLines::open(dir.path().join("metrics.jsonl"));
        let samples: Vec<Value> = (0..12)
            .map(|i| {
                let f = f64::from(i);
                serde_json::json!({
                    "step": 100 * i, "time_unix_s": 1000.0 + 30.0 * f, "success_rate": f / 12.0, "success_ci95": 0.1,
                    "episode_return": -5.0 + f, "intervention_rate": 0.5 / (1.0 + f), "critic_loss": 1.0 / (1.0 + f),
                    "actor_loss": -f, "updates_per_s": 10.0 + f,
                })
            })
            .collect();
        for s in &samples {
            log.append(s, &[]);
        }
        drop(log);
        let out = dir.path().join("report.html");
        let r = write(dir.path(), &out, "[cell]\nname = \"x<y\"\n").expect("report");
        assert_eq!((r.samples, r.skipped, r.evals), (12, 0, 0));
        let html = std::fs::read_to_string(&out).expect("read");
        let start = html.find("id=\"corrigo-report-data\">").expect("data block") + "id=\"corrigo-report-data\">".len();
        let end = start + html[start..].find("</script>").expect("end");
        let data: Value = serde_json::from_str(&html[start..end].replace("<\\/", "</")).expect("JSON");
        let first = &data["charts"][0];
        assert_eq!(first["x"], "env steps");
        let pts = first["series"][0]["points"].as_array().expect("points");
        let want: Vec<(f64, f64)> =
            samples.iter().map(|s| (s["step"].as_f64().unwrap(), s["success_rate"].as_f64().unwrap())).collect();
        let got: Vec<(f64, f64)> = pts.iter().map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap())).collect();
        assert_eq!(got, want);
        let ret = &data["charts"][1]["series"][0]["points"];
        assert_eq!(ret[11], serde_json::json!([1100.0, 6.0]));
        // One drawn line per curve, each with every point.
        let polylines: Vec<usize> = html
            .match_indices("<polyline")
            .map(|(i, _)| {
                let tag = &html[i..i + html[i..].find("/>").unwrap()];
                let p = tag.split("points=\"").nth(1).unwrap().split('"').next().unwrap();
                p.split_whitespace().count()
            })
            .collect();
        let expected: usize = r.charts.iter().map(|c| c.series.len()).sum();
        assert_eq!(polylines.iter().filter(|n| **n == 12).count(), expected, "{polylines:?}");
        assert!(html.contains("name = &quot;x&lt;y&quot;") || html.contains("name = \"x&lt;y\""), "config escaped");
    }
}
