//! Episode replay: the stored episodes of a run directory, listed and played back step by step — what the robot
//! saw (every camera), where the TCP went, what it did (actions), the reward, and which steps a human drove —
//! with a scrub bar. No cell and no bus: the episodes come from an [`EpisodeSource`] (the application reads them
//! from the run directory's replay store; this crate does not link the learner).

use egui::{Color32, ColorImage, RichText, TextureHandle, TextureOptions, Ui, vec2};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points, VLine};

/// Label of the scrub bar (tests and screen readers find it by it).
pub const SCRUB_LABEL: &str = "step";
/// Label of the play/pause button.
pub const PLAY_LABEL: &str = "play / pause";

const HUMAN: Color32 = Color32::from_rgb(240, 140, 60);
const GOOD: Color32 = Color32::from_rgb(80, 200, 120);
const BAD: Color32 = Color32::from_rgb(225, 60, 60);
const MUTED: Color32 = Color32::from_rgb(130, 130, 130);

/// One stored episode, as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeSummary {
    /// `demo` (demonstrations and interventions) or `online`.
    pub buffer: &'static str,
    /// Episode id.
    pub episode: u64,
    /// Steps (transitions) stored.
    pub steps: usize,
    /// Sum of rewards.
    pub episode_return: f64,
    /// It ended in success (its last transition terminal — the task done — not cut by the time limit).
    pub success: bool,
    /// Steps a human drove.
    pub intervention_steps: usize,
}

/// One step of a loaded episode.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayStep {
    /// The step's observation frames, RGB8, one per camera (in [`Episode::cameras`] order).
    pub frames: Vec<Vec<u8>>,
    /// TCP position relative to the episode's start, m.
    pub tcp: [f32; 3],
    /// The executed action (continuous part).
    pub action: Vec<f32>,
    /// Reward of the step.
    pub reward: f32,
    /// A human drove this step.
    pub intervention: bool,
}

/// A loaded episode.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// `(name, width, height)` of each camera.
    pub cameras: Vec<(String, usize, usize)>,
    /// Its steps, in order.
    pub steps: Vec<ReplayStep>,
}

/// Where the episodes come from.
pub trait EpisodeSource {
    /// The stored episodes.
    fn episodes(&self) -> &[EpisodeSummary];
    /// Loads episode `i` of [`EpisodeSource::episodes`]; the error says what could not be read.
    fn load(&self, i: usize) -> Result<Episode, String>;
}

/// The replay view: a list of episodes and the playback of the selected one.
pub struct ReplayView {
    source: Box<dyn EpisodeSource>,
    title: String,
    selected: Option<usize>,
    episode: Option<Result<Episode, String>>,
    step: usize,
    playing: bool,
    last_advance: f64,
    /// Per camera, the step whose frame is on its texture.
    textures: Vec<(usize, TextureHandle)>,
}

impl std::fmt::Debug for ReplayView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayView").field("selected", &self.selected).field("step", &self.step).finish()
    }
}

impl ReplayView {
    /// A view of `source`'s episodes, titled `title` (the run directory).
    pub fn new(source: Box<dyn EpisodeSource>, title: impl Into<String>) -> Self {
        Self {
            source,
            title: title.into(),
            selected: None,
            episode: None,
            step: 0,
            playing: false,
            last_advance: 0.0,
            textures: Vec::new(),
        }
    }

    /// Selects (and loads) episode `i` of the list, at its first step.
    pub fn select(&mut self, i: usize) {
        if self.selected == Some(i) {
            return;
        }
        self.selected = Some(i);
        self.episode = Some(self.source.load(i));
        self.step = 0;
        self.textures.clear();
    }

    /// The selected episode's index, if any.
    pub fn selected(&self) -> Option<usize> {
        self.selected
    }

    /// The step shown.
    pub fn step(&self) -> usize {
        self.step
    }

    /// The step whose frame camera `c`'s view shows (its texture), once drawn.
    pub fn shown_step(&self, c: usize) -> Option<usize> {
        self.textures.get(c).map(|t| t.0)
    }

    /// Draws the view.
    pub fn show(&mut self, ctx: &egui::Context) {
        egui::SidePanel::left("episodes").resizable(true).default_width(360.0).show(ctx, |ui| self.list(ui));
        egui::CentralPanel::default().show(ctx, |ui| self.playback(ui));
        if self.playing {
            let now = ctx.input(|i| i.time);
            if now - self.last_advance >= 0.1 {
                self.last_advance = now;
                let n = self.steps();
                if n > 0 && self.step + 1 < n {
                    self.step += 1;
                } else {
                    self.playing = false;
                }
            }
            ctx.request_repaint_after(std::time::Duration::from_millis(30));
        }
    }

    fn steps(&self) -> usize {
        match &self.episode {
            Some(Ok(e)) => e.steps.len(),
            _ => 0,
        }
    }

    fn list(&mut self, ui: &mut Ui) {
        ui.heading("Episodes");
        ui.label(RichText::new(&self.title).color(MUTED).small());
        let n = self.source.episodes().len();
        ui.label(format!("{n} stored"));
        ui.separator();
        let mut clicked = None;
        egui::ScrollArea::vertical().show(ui, |ui| {
            for (i, e) in self.source.episodes().iter().enumerate() {
                let text = format!(
                    "{} #{} · {} steps · return {:.2} · {}{}",
                    e.buffer,
                    e.episode,
                    e.steps,
                    e.episode_return,
                    if e.success { "success" } else { "failure" },
                    if e.intervention_steps > 0 {
                        format!(" · {} human", e.intervention_steps)
                    } else {
                        String::new()
                    }
                );
                let color = if e.success { GOOD } else { BAD };
                if ui.selectable_label(self.selected == Some(i), RichText::new(text).color(color)).clicked() {
                    clicked = Some(i);
                }
            }
        });
        if let Some(i) = clicked {
            self.select(i);
        }
    }

    fn playback(&mut self, ui: &mut Ui) {
        let Some(episode) = &self.episode else {
            ui.label("select an episode on the left to play it back");
            return;
        };
        let e = match episode {
            Ok(e) => e.clone(),
            Err(why) => {
                ui.label(RichText::new(format!("cannot load this episode: {why}")).color(BAD));
                return;
            }
        };
        let n = e.steps.len();
        if n == 0 {
            ui.label("an empty episode");
            return;
        }
        self.step = self.step.min(n - 1);
        ui.horizontal(|ui| {
            if ui.button(if self.playing { "⏸" } else { "▶" }).on_hover_text(PLAY_LABEL).clicked() {
                if !self.playing && self.step + 1 >= n {
                    self.step = 0;
                }
                self.playing = !self.playing;
            }
            ui.add(egui::Slider::new(&mut self.step, 0..=n - 1).text(SCRUB_LABEL));
            let s = &e.steps[self.step];
            ui.label(format!("reward {:.2}", s.reward));
            if s.intervention {
                ui.label(RichText::new("human").color(HUMAN).strong());
            }
        });
        // The frames of the chosen step.
        ui.horizontal_wrapped(|ui| {
            for (c, (name, w, h)) in e.cameras.iter().enumerate() {
                let frame = &e.steps[self.step].frames[c];
                ui.vertical(|ui| {
                    if frame.len() == w * h * 3 {
                        let image = ColorImage::from_rgb([*w, *h], frame);
                        match self.textures.get_mut(c) {
                            Some((at, handle)) if *at != self.step => {
                                handle.set(image, TextureOptions::NEAREST);
                                *at = self.step;
                            }
                            Some(_) => {}
                            None => {
                                let handle =
                                    ui.ctx().load_texture(format!("replay/{name}"), image, TextureOptions::NEAREST);
                                self.textures.push((self.step, handle));
                            }
                        }
                        if let Some((_, handle)) = self.textures.get(c) {
                            let scale = (200.0 / *w as f32).min(200.0 / *h as f32);
                            ui.image((handle.id(), vec2(*w as f32 * scale, *h as f32 * scale)));
                        }
                    } else {
                        ui.label(
                            RichText::new(format!("{name}: {} bytes, not a {w}×{h} RGB frame", frame.len())).color(BAD),
                        );
                    }
                    ui.label(RichText::new(format!("{name} · step {}", self.step)).small());
                });
            }
        });
        let human: Vec<[f64; 2]> = e
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.intervention)
            .map(|(i, s)| [i as f64, f64::from(s.reward)])
            .collect();
        let at = self.step as f64;
        ui.horizontal(|ui| {
            let width = ((ui.available_width() - 16.0) / 3.0).max(150.0);
            ui.vertical(|ui| {
                ui.label(RichText::new("TCP path (x, y from the start, m)").strong());
                let path: Vec<[f64; 2]> = e.steps.iter().map(|s| [f64::from(s.tcp[0]), f64::from(s.tcp[1])]).collect();
                let now = [f64::from(e.steps[self.step].tcp[0]), f64::from(e.steps[self.step].tcp[1])];
                Plot::new("replay tcp").width(width).height(180.0).data_aspect(1.0).show(ui, |p| {
                    p.line(Line::new("path", PlotPoints::from(path)));
                    p.points(Points::new("now", vec![now]).radius(4.0).color(GOOD));
                });
            });
            ui.vertical(|ui| {
                ui.label(RichText::new("actions").strong());
                Plot::new("replay actions").width(width).height(180.0).legend(Legend::default()).show(ui, |p| {
                    let dims = e.steps[0].action.len();
                    for d in 0..dims {
                        let pts: Vec<[f64; 2]> =
                            e.steps.iter().enumerate().map(|(i, s)| [i as f64, f64::from(s.action[d])]).collect();
                        p.line(Line::new(format!("a{d}"), PlotPoints::from(pts)));
                    }
                    p.vline(VLine::new("", at).color(MUTED));
                });
            });
            ui.vertical(|ui| {
                ui.label(RichText::new("reward (human steps in orange)").strong());
                Plot::new("replay reward").width(width).height(180.0).show(ui, |p| {
                    let pts: Vec<[f64; 2]> =
                        e.steps.iter().enumerate().map(|(i, s)| [i as f64, f64::from(s.reward)]).collect();
                    p.line(Line::new("reward", PlotPoints::from(pts)));
                    if !human.is_empty() {
                        p.points(Points::new("human", human.clone()).radius(3.0).color(HUMAN));
                    }
                    p.vline(VLine::new("", at).color(MUTED));
                });
            });
        });
    }
}

/// Opens the replay view in a window and blocks until it is closed. Errors: no display, or the window cannot be
/// created.
pub fn run_replay(source: Box<dyn EpisodeSource>, title: String) -> Result<(), crate::UiError> {
    if !crate::display_available() {
        return Err(crate::UiError::NoDisplay);
    }
    let mut view = ReplayView::new(source, title.clone());
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(format!("corrigo · replay · {title}"))
            .with_inner_size([1400.0, 900.0]),
        ..Default::default()
    };
    struct App(ReplayView);
    impl eframe::App for App {
        fn update(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
            self.0.show(ctx);
        }
    }
    if !view.source.episodes().is_empty() {
        view.select(0);
    }
    eframe::run_native(
        "corrigo-replay",
        options,
        Box::new(move |cc| {
            cc.egui_ctx.set_theme(egui::Theme::Dark);
            Ok(Box::new(App(view)))
        }),
    )
    .map_err(|e| crate::UiError::Window(e.to_string()))
}
