//! Camera views: for each camera the policy image and, once the camera sends one, the full image, with size,
//! rate and age.

use super::style::{BAD, MUTED, age, section};
use crate::state::{FrameKind, FrameSlot, PanelState};
use egui::{Color32, ColorImage, RichText, TextureHandle, TextureOptions, Ui, Vec2, vec2};
use interfaces::Stamp;
use interfaces::msg::{Frame, PixelEncoding};
use std::collections::HashMap;

/// Box each stream is drawn into, points.
const POLICY_BOX: Vec2 = vec2(130.0, 130.0);
const FULL_BOX: Vec2 = vec2(174.0, 130.0);

/// GPU textures of the shown frames, re-uploaded only when a stream's generation changes.
#[derive(Default)]
pub(super) struct CameraTextures {
    map: HashMap<(String, FrameKind), Shown>,
}

impl std::fmt::Debug for CameraTextures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraTextures").field("streams", &self.map.len()).finish()
    }
}

struct Shown {
    generation: u64,
    image: Result<TextureHandle, String>,
}

/// Decodes a frame into an image egui can upload.
pub(crate) fn decode(frame: &Frame) -> Result<ColorImage, String> {
    let size = [frame.width as usize, frame.height as usize];
    match frame.encoding {
        PixelEncoding::Rgb8 if frame.is_consistent() => Ok(ColorImage::from_rgb(size, &frame.data)),
        PixelEncoding::Rgb8 => Err(format!(
            "{} bytes for a {}×{} RGB8 frame (expected {})",
            frame.data.len(),
            frame.width,
            frame.height,
            size[0] * size[1] * 3
        )),
        PixelEncoding::Jpeg => {
            let img = image::load_from_memory_with_format(&frame.data, image::ImageFormat::Jpeg)
                .map_err(|e| format!("undecodable JPEG: {e}"))?
                .to_rgb8();
            Ok(ColorImage::from_rgb([img.width() as usize, img.height() as usize], img.as_raw()))
        }
    }
}

pub(super) fn show(state: &PanelState, textures: &mut CameraTextures, ui: &mut Ui, now: Stamp) {
    section(ui, "Cameras");
    if state.cameras.is_empty() {
        ui.label(RichText::new("no cameras configured").color(MUTED));
        return;
    }
    let limit = state.stale_limits.frames_s;
    ui.horizontal_wrapped(|ui| {
        for (name, feed) in &state.cameras {
            ui.group(|ui| {
                ui.vertical(|ui| {
                    ui.label(RichText::new(name).strong());
                    ui.horizontal(|ui| {
                        // The full image only where the camera sends one (a simulated camera sends none).
                        stream(ui, textures, name, FrameKind::Policy, feed.slot(FrameKind::Policy), now, limit);
                        if let Some(full) = feed.slot(FrameKind::Full) {
                            stream(ui, textures, name, FrameKind::Full, Some(full), now, limit);
                        }
                    });
                });
            });
        }
    });
}

fn stream(
    ui: &mut Ui,
    textures: &mut CameraTextures,
    camera: &str,
    kind: FrameKind,
    slot: Option<&FrameSlot>,
    now: Stamp,
    limit_s: f64,
) {
    let area = match kind {
        FrameKind::Policy => POLICY_BOX,
        FrameKind::Full => FULL_BOX,
    };
    ui.vertical(|ui| {
        let Some(slot) = slot else {
            placeholder(ui, area, "no frames");
            ui.label(RichText::new(kind.name()).color(MUTED).small());
            return;
        };
        let shown = textures
            .map
            .entry((camera.to_string(), kind))
            .or_insert(Shown { generation: 0, image: Err(String::new()) });
        if shown.generation != slot.generation {
            shown.generation = slot.generation;
            let previous = std::mem::replace(&mut shown.image, Err(String::new()));
            shown.image = match (decode(&slot.frame), previous) {
                (Ok(img), Ok(mut handle)) => {
                    handle.set(img, TextureOptions::LINEAR);
                    Ok(handle)
                }
                (Ok(img), Err(_)) => {
                    Ok(ui.ctx().load_texture(format!("camera/{camera}/{}", kind.name()), img, TextureOptions::LINEAR))
                }
                (Err(e), _) => Err(e),
            };
        }
        match &shown.image {
            Ok(handle) => {
                let [w, h] = handle.size();
                let scale = (area.x / w as f32).min(area.y / h as f32);
                let size = vec2(w as f32 * scale, h as f32 * scale);
                let (rect, _) = ui.allocate_exact_size(area, egui::Sense::hover());
                let img_rect = egui::Rect::from_center_size(rect.center(), size);
                ui.painter().rect_filled(rect, 2.0, Color32::from_gray(20));
                ui.painter().image(
                    handle.id(),
                    img_rect,
                    egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                    Color32::WHITE,
                );
            }
            Err(e) => placeholder(ui, area, e),
        }
        let age_s = now.secs_since(slot.received);
        let fps = slot.rate.hz(now).map(|hz| format!("{hz:.1} fps")).unwrap_or_else(|| "– fps".into());
        let caption = format!("{} {}×{} · {fps} · {}", kind.name(), slot.frame.width, slot.frame.height, age(age_s));
        let color = if age_s > limit_s { BAD } else { ui.visuals().text_color() };
        ui.label(RichText::new(caption).color(color).small());
    });
}

fn placeholder(ui: &mut Ui, size: Vec2, text: &str) {
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    ui.painter().rect_filled(rect, 2.0, Color32::from_gray(28));
    ui.painter().text(rect.center(), egui::Align2::CENTER_CENTER, text, egui::FontId::proportional(13.0), MUTED);
}

#[cfg(test)]
mod tests {
    use super::*;
    use interfaces::msg::Header;

    fn frame(encoding: PixelEncoding, data: Vec<u8>) -> Frame {
        Frame { header: Header::default(), camera: "front".into(), width: 4, height: 2, encoding, data }
    }

    #[test]
    fn rgb_frames_decode_and_bad_sizes_are_named() {
        let img = decode(&frame(PixelEncoding::Rgb8, vec![200; 24])).expect("decodes");
        assert_eq!(img.size, [4, 2]);
        assert_eq!(img.pixels[0], Color32::from_rgb(200, 200, 200));
        let err = decode(&frame(PixelEncoding::Rgb8, vec![0; 23])).unwrap_err();
        assert!(err.contains("23 bytes") && err.contains("expected 24"), "{err}");
    }

    #[test]
    fn jpeg_frames_decode_and_garbage_is_an_error() {
        let mut jpeg = Vec::new();
        let rgb = image::RgbImage::from_pixel(4, 2, image::Rgb([10, 200, 30]));
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
            .encode_image(&rgb)
            .expect("encode a test JPEG");
        let img = decode(&frame(PixelEncoding::Jpeg, jpeg)).expect("decodes");
        assert_eq!(img.size, [4, 2]);
        let p = img.pixels[0];
        assert!(p.g() > 150 && p.r() < 60, "{p:?}");
        assert!(decode(&frame(PixelEncoding::Jpeg, vec![1, 2, 3])).unwrap_err().contains("JPEG"));
    }
}
