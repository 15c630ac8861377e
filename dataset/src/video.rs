//! Camera frames to and from mp4 through FFmpeg's libraries (libavcodec, libavformat, libswscale).
//!
//! Frames are RGB24, `height × width × 3` bytes, rows top to bottom. The encoder converts them to the codec's
//! pixel format (yuv420p) and gives frame `i` of a file the presentation time `i / fps` exactly (time base
//! `1/fps`, constant frame rate), so that the `k`-th frame of an episode starting at file frame `s` sits at
//! `from_timestamp + k / fps` with `from_timestamp = s / fps`: the timestamps LeRobot's loader asks for.

use crate::error::{DatasetError, Result};
use ff::format::Pixel;
use ff::software::scaling;
use ffmpeg_next as ff;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Which codec the exporter writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Codec {
    /// AV1 through SVT-AV1 (`libsvtav1`), yuv420p: LeRobot's default; smaller files, slower to encode.
    Av1,
    /// H.264 through x264 (`libx264`), yuv420p, no B-frames: read by LeRobot and by every player; corrigo's
    /// default, since it meets the export rate and the image fidelity that `corrigo bench dataset` checks, where
    /// SVT-AV1 on two cores does not (see the README's figures).
    #[default]
    H264,
}

impl Codec {
    /// The FFmpeg encoder's name.
    pub fn encoder_name(self) -> &'static str {
        match self {
            Codec::Av1 => "libsvtav1",
            Codec::H264 => "libx264",
        }
    }

    /// The codec's name as `meta/info.json` states it (`video.codec`).
    pub fn info_name(self) -> &'static str {
        match self {
            Codec::Av1 => "av1",
            Codec::H264 => "h264",
        }
    }

    /// Encoder options: quality (constant rate factor), speed preset and group of pictures. The quality is
    /// chosen so that the frames come back at ≥ 35 dB PSNR (the round-trip test checks it).
    fn options(self) -> ff::Dictionary<'static> {
        let mut d = ff::Dictionary::new();
        match self {
            Codec::Av1 => {
                d.set("crf", "23");
                d.set("preset", "10");
                d.set("svtav1-params", "lp=1");
            }
            Codec::H264 => {
                d.set("crf", "18");
                d.set("preset", "veryfast");
            }
        }
        d
    }
}

impl std::str::FromStr for Codec {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "av1" => Ok(Codec::Av1),
            "h264" => Ok(Codec::H264),
            other => Err(format!("unknown codec `{other}` (av1 or h264)")),
        }
    }
}

fn init() -> Result<()> {
    static INIT: Once = Once::new();
    let mut res = Ok(());
    INIT.call_once(|| {
        res = ff::init().map_err(|e| DatasetError::Video { file: PathBuf::new(), what: format!("init: {e}") });
        // FFmpeg's own log lines would interleave with the progress bar; its errors come back as values.
        ff::util::log::set_level(ff::util::log::Level::Error);
    });
    res
}

fn verr(file: &Path, what: impl std::fmt::Display) -> DatasetError {
    DatasetError::Video { file: file.to_path_buf(), what: what.to_string() }
}

/// Writes RGB frames of one size into one mp4 file.
pub struct VideoWriter {
    path: PathBuf,
    octx: ff::format::context::Output,
    encoder: ff::encoder::Video,
    scaler: scaling::Context,
    rgb: ff::frame::Video,
    yuv: ff::frame::Video,
    width: usize,
    height: usize,
    enc_tb: ff::Rational,
    frames: i64,
}

impl std::fmt::Debug for VideoWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoWriter").field("path", &self.path).field("frames", &self.frames).finish()
    }
}

impl VideoWriter {
    /// Creates `path` (an `.mp4`) for `width × height` RGB frames at `fps` frames per second.
    pub fn create(path: &Path, width: usize, height: usize, fps: u32, codec: Codec) -> Result<Self> {
        init()?;
        let mut octx = ff::format::output(&path).map_err(|e| verr(path, format!("create: {e}")))?;
        let enc = ff::encoder::find_by_name(codec.encoder_name()).ok_or_else(|| {
            verr(
                path,
                format!(
                    "FFmpeg has no `{}` encoder: install Debian's libavcodec with it (scripts/setup.sh does) or \
                     choose another --codec",
                    codec.encoder_name()
                ),
            )
        })?;
        let global_header = octx.format().flags().contains(ff::format::Flags::GLOBAL_HEADER);
        let mut ost = octx.add_stream(enc).map_err(|e| verr(path, format!("add stream: {e}")))?;
        let mut ctx = ff::codec::context::Context::new_with_codec(enc)
            .encoder()
            .video()
            .map_err(|e| verr(path, format!("encoder: {e}")))?;
        let tb = ff::Rational::new(1, fps as i32);
        ctx.set_width(width as u32);
        ctx.set_height(height as u32);
        ctx.set_format(Pixel::YUV420P);
        ctx.set_time_base(tb);
        ctx.set_frame_rate(Some(ff::Rational::new(fps as i32, 1)));
        ctx.set_gop(2);
        // No B-frames: every frame decodes in order, fast random access (what LeRobot recommends).
        ctx.set_max_b_frames(0);
        if global_header {
            ctx.set_flags(ff::codec::Flags::GLOBAL_HEADER);
        }
        let encoder = ctx.open_with(codec.options()).map_err(|e| verr(path, format!("open encoder: {e}")))?;
        ost.set_parameters(&encoder);
        ost.set_time_base(tb);
        octx.write_header().map_err(|e| verr(path, format!("write header: {e}")))?;
        let scaler = scaling::Context::get(
            Pixel::RGB24,
            width as u32,
            height as u32,
            Pixel::YUV420P,
            width as u32,
            height as u32,
            scaling::Flags::BICUBIC
                | scaling::Flags::ACCURATE_RND
                | scaling::Flags::FULL_CHR_H_INT
                | scaling::Flags::FULL_CHR_H_INP,
        )
        .map_err(|e| verr(path, format!("scaler: {e}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            octx,
            encoder,
            scaler,
            rgb: ff::frame::Video::new(Pixel::RGB24, width as u32, height as u32),
            yuv: ff::frame::Video::empty(),
            width,
            height,
            enc_tb: tb,
            frames: 0,
        })
    }

    /// Frames written so far; the next frame's presentation time is `frames() / fps`.
    pub fn frames(&self) -> i64 {
        self.frames
    }

    /// Appends one RGB frame (`height · width · 3` bytes).
    pub fn push(&mut self, rgb: &[u8]) -> Result<()> {
        let row = self.width * 3;
        if rgb.len() != row * self.height {
            return Err(verr(
                &self.path,
                format!(
                    "frame of {} bytes, expected {}×{}×3 = {}",
                    rgb.len(),
                    self.height,
                    self.width,
                    row * self.height
                ),
            ));
        }
        let stride = self.rgb.stride(0);
        let data = self.rgb.data_mut(0);
        for (y, src) in rgb.chunks_exact(row).enumerate() {
            data[y * stride..y * stride + row].copy_from_slice(src);
        }
        self.scaler.run(&self.rgb, &mut self.yuv).map_err(|e| verr(&self.path, format!("convert: {e}")))?;
        self.yuv.set_pts(Some(self.frames));
        self.frames += 1;
        self.encoder.send_frame(&self.yuv).map_err(|e| verr(&self.path, format!("encode: {e}")))?;
        self.drain()
    }

    fn drain(&mut self) -> Result<()> {
        let ost_tb = self.octx.stream(0).map(|s| s.time_base()).unwrap_or(self.enc_tb);
        let mut packet = ff::Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            // One frame period: the container's index (and an mp4 edit list) then covers the last frame too.
            packet.set_duration(1);
            packet.set_stream(0);
            packet.rescale_ts(self.enc_tb, ost_tb);
            packet.write_interleaved(&mut self.octx).map_err(|e| verr(&self.path, format!("write: {e}")))?;
        }
        Ok(())
    }

    /// Flushes the encoder and writes the file's index; the file is complete only after this.
    pub fn finish(mut self) -> Result<()> {
        self.encoder.send_eof().map_err(|e| verr(&self.path, format!("flush encoder: {e}")))?;
        self.drain()?;
        self.octx.write_trailer().map_err(|e| verr(&self.path, format!("write trailer: {e}")))
    }
}

/// Reads the frames of one video file in order, as RGB24 of the size asked for.
pub struct VideoReader {
    path: PathBuf,
    ictx: ff::format::context::Input,
    stream: usize,
    decoder: ff::decoder::Video,
    scaler: Option<scaling::Context>,
    frame: ff::frame::Video,
    rgb: ff::frame::Video,
    width: usize,
    height: usize,
    eof: bool,
    /// Index (in the file) of the next frame [`VideoReader::next_frame`] returns.
    next_index: usize,
    /// The stream's time base.
    time_base: ff::Rational,
    /// Presentation time of the frame returned last, s.
    last_time: Option<f64>,
}

impl std::fmt::Debug for VideoReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoReader").field("path", &self.path).field("next_index", &self.next_index).finish()
    }
}

impl VideoReader {
    /// Opens `path` and its best video stream; frames come back as `width × height` RGB (an error names the file
    /// when the stream's size differs).
    pub fn open(path: &Path, width: usize, height: usize) -> Result<Self> {
        init()?;
        if !path.is_file() {
            return Err(verr(path, "no such video file"));
        }
        let ictx = ff::format::input(&path).map_err(|e| verr(path, format!("open: {e}")))?;
        let input = ictx.streams().best(ff::media::Type::Video).ok_or_else(|| verr(path, "no video stream"))?;
        let stream = input.index();
        let time_base = input.time_base();
        let ctx = ff::codec::context::Context::from_parameters(input.parameters())
            .map_err(|e| verr(path, format!("decoder: {e}")))?;
        let decoder = ctx.decoder().video().map_err(|e| verr(path, format!("decoder: {e}")))?;
        if decoder.width() as usize != width || decoder.height() as usize != height {
            return Err(verr(
                path,
                format!(
                    "frames are {}×{} (width×height); the cell's camera is {width}×{height}",
                    decoder.width(),
                    decoder.height()
                ),
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            ictx,
            stream,
            decoder,
            scaler: None,
            frame: ff::frame::Video::empty(),
            rgb: ff::frame::Video::empty(),
            width,
            height,
            eof: false,
            next_index: 0,
            time_base,
            last_time: None,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Index (in the file) of the frame the next call returns.
    pub fn next_index(&self) -> usize {
        self.next_index
    }

    /// Presentation time of the frame [`VideoReader::next_frame`] returned last, s (`None` before the first or when
    /// the file carries no time stamps).
    pub fn last_time_s(&self) -> Option<f64> {
        self.last_time
    }

    /// The next frame in presentation order as RGB bytes into `out`; `Ok(false)` at the end of the file.
    pub fn next_frame(&mut self, out: &mut Vec<u8>) -> Result<bool> {
        loop {
            if self.decoder.receive_frame(&mut self.frame).is_ok() {
                self.last_time =
                    self.frame.timestamp().or(self.frame.pts()).map(|p| p as f64 * f64::from(self.time_base));
                self.convert(out)?;
                self.next_index += 1;
                return Ok(true);
            }
            if self.eof {
                return Ok(false);
            }
            match self.ictx.packets().next() {
                Some((s, packet)) => {
                    if s.index() == self.stream {
                        self.decoder.send_packet(&packet).map_err(|e| verr(&self.path, format!("decode: {e}")))?;
                    }
                }
                None => {
                    self.eof = true;
                    self.decoder.send_eof().map_err(|e| verr(&self.path, format!("decode: {e}")))?;
                }
            }
        }
    }

    fn convert(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.scaler.is_none() {
            let s = scaling::Context::get(
                self.frame.format(),
                self.frame.width(),
                self.frame.height(),
                Pixel::RGB24,
                self.width as u32,
                self.height as u32,
                scaling::Flags::BICUBIC
                    | scaling::Flags::ACCURATE_RND
                    | scaling::Flags::FULL_CHR_H_INT
                    | scaling::Flags::FULL_CHR_H_INP,
            )
            .map_err(|e| verr(&self.path, format!("scaler: {e}")))?;
            self.scaler = Some(s);
        }
        if let Some(s) = self.scaler.as_mut() {
            s.run(&self.frame, &mut self.rgb).map_err(|e| verr(&self.path, format!("convert: {e}")))?;
        }
        let row = self.width * 3;
        let stride = self.rgb.stride(0);
        let data = self.rgb.data(0);
        out.clear();
        for y in 0..self.height {
            out.extend_from_slice(&data[y * stride..y * stride + row]);
        }
        Ok(())
    }
}

/// Peak signal-to-noise ratio of `b` against `a` (8-bit samples), dB; infinite when equal.
pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let n = a.len().min(b.len()).max(1) as f64;
    let se: f64 = a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum();
    if se == 0.0 { f64::INFINITY } else { 10.0 * (255.0f64 * 255.0 / (se / n)).log10() }
}
