//! Frames as subscribers want them: RGB8 whatever the camera published, never decoding more than the frame
//! declares.

use crate::error::PerceptionError;
use interfaces::msg::{Frame, PixelEncoding};
use opencv::core::{Mat, MatTraitConst, MatTraitConstManual, Vector};
use opencv::{imgcodecs, imgproc};

/// Why the frame header of a JPEG could not be read ([`jpeg_dimensions`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JpegHeaderError {
    /// The bytes do not start with a JPEG's start-of-image marker.
    #[error("not a JPEG (no start-of-image marker)")]
    NotJpeg,
    /// The bytes end before the frame header.
    #[error("the JPEG ends at byte {0}, before its frame header")]
    Truncated(usize),
    /// Something other than a marker where a marker must be, or a marker that cannot come before the frame
    /// header.
    #[error("the JPEG is corrupt at byte {at}: {what}")]
    Corrupt {
        /// Byte offset.
        at: usize,
        /// What was found.
        what: &'static str,
    },
    /// A frame type the decoder does not support (hierarchical, differential).
    #[error("unsupported JPEG frame type (marker 0xFF{0:02X})")]
    Unsupported(u8),
    /// The frame header declares a zero width or height (a height defined later by a DNL marker).
    #[error("the JPEG declares a {width}×{height} image")]
    ZeroSize {
        /// Declared width, pixels.
        width: u16,
        /// Declared height, pixels.
        height: u16,
    },
}

/// The width and height a JPEG declares in its frame header (the first SOFn marker), read without decoding:
/// walks the marker segments from the start-of-image marker to the frame header, as the decoder does, and
/// refuses anything the decoder would have to guess about (bytes that are not a marker between segments, a scan
/// or the end of the image before the frame header, hierarchical frames). Reads at most `data.len()` bytes, each
/// once; never panics, whatever the bytes.
pub fn jpeg_dimensions(data: &[u8]) -> Result<(u32, u32), JpegHeaderError> {
    if data.len() < 2 || data[0] != 0xFF || data[1] != 0xD8 {
        return Err(JpegHeaderError::NotJpeg);
    }
    let mut i = 2;
    loop {
        match data.get(i) {
            Some(0xFF) => {}
            Some(_) => return Err(JpegHeaderError::Corrupt { at: i, what: "a byte that is not a marker" }),
            None => return Err(JpegHeaderError::Truncated(i)),
        }
        while data.get(i) == Some(&0xFF) {
            i += 1; // the marker's 0xFF and any fill bytes
        }
        let Some(&marker) = data.get(i) else { return Err(JpegHeaderError::Truncated(i)) };
        let at = i;
        i += 1;
        match marker {
            0x01 => continue, // TEM: no segment
            0x00 | 0xD0..=0xD8 => return Err(JpegHeaderError::Corrupt { at, what: "a marker out of place" }),
            0xD9 => return Err(JpegHeaderError::Corrupt { at, what: "the end of the image before its frame header" }),
            0xDA => return Err(JpegHeaderError::Corrupt { at, what: "a scan before the frame header" }),
            0xC5..=0xC7 | 0xCD..=0xCF | 0xDE => return Err(JpegHeaderError::Unsupported(marker)),
            _ => {}
        }
        let (Some(&hi), Some(&lo)) = (data.get(i), data.get(i + 1)) else {
            return Err(JpegHeaderError::Truncated(data.len()));
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        if len < 2 {
            return Err(JpegHeaderError::Corrupt { at: i, what: "a segment shorter than its length field" });
        }
        let end = i + len; // i ≤ data.len() and len ≤ 65 535: no overflow
        if end > data.len() {
            return Err(JpegHeaderError::Truncated(data.len()));
        }
        // SOF0–3 (baseline, extended, progressive, lossless), SOF9–11 (arithmetic): precision, height, width.
        if matches!(marker, 0xC0..=0xC3 | 0xC9..=0xCB) {
            if len < 8 {
                return Err(JpegHeaderError::Corrupt { at: i, what: "a frame header shorter than 8 bytes" });
            }
            let height = u16::from_be_bytes([data[i + 3], data[i + 4]]);
            let width = u16::from_be_bytes([data[i + 5], data[i + 6]]);
            if width == 0 || height == 0 {
                return Err(JpegHeaderError::ZeroSize { width, height });
            }
            return Ok((u32::from(width), u32::from(height)));
        }
        i = end;
    }
}

/// Returns `frame` with RGB8 pixels (row-major, `width·height·3` bytes): an RGB8 frame is checked and returned as
/// it is, a JPEG frame is decoded. Errors when the declared size is not allowed ([`Frame::size_allowed`]), the
/// RGB8 data does not have the declared size, the JPEG's own frame header ([`jpeg_dimensions`]) declares another
/// size than the frame (checked before decoding, so the decoder never allocates more than the frame declares),
/// or the JPEG is corrupt.
pub fn to_rgb8(mut frame: Frame) -> Result<Frame, PerceptionError> {
    let bad = |frame: &Frame, reason: String| PerceptionError::BadFrame {
        camera: frame.camera.clone(),
        width: frame.width,
        height: frame.height,
        encoding: format!("{:?}", frame.encoding),
        reason,
    };
    if !Frame::size_allowed(frame.width, frame.height) {
        let reason = format!(
            "the declared size is not allowed (at most {} pixels a side, {} pixels)",
            Frame::MAX_SIDE,
            Frame::MAX_PIXELS
        );
        return Err(bad(&frame, reason));
    }
    match frame.encoding {
        PixelEncoding::Rgb8 => {
            if !frame.is_consistent() {
                let reason = format!("{} bytes, expected width·height·3", frame.data.len());
                return Err(bad(&frame, reason));
            }
            Ok(frame)
        }
        PixelEncoding::Jpeg => {
            match jpeg_dimensions(&frame.data) {
                Ok(size) if size == (frame.width, frame.height) => {}
                Ok((w, h)) => return Err(bad(&frame, format!("the JPEG's own header declares {w}×{h}"))),
                Err(e) => return Err(bad(&frame, e.to_string())),
            }
            let decoded = (|| -> opencv::Result<Option<Vec<u8>>> {
                let bytes = Vector::<u8>::from_slice(&frame.data);
                let bgr = imgcodecs::imdecode(&bytes, imgcodecs::IMREAD_COLOR)?;
                if bgr.empty() || (bgr.cols() as u32, bgr.rows() as u32) != (frame.width, frame.height) {
                    return Ok(None);
                }
                let mut rgb = Mat::default();
                imgproc::cvt_color_def(&bgr, &mut rgb, imgproc::COLOR_BGR2RGB)?;
                Ok(Some(rgb.data_bytes()?.to_vec()))
            })();
            match decoded {
                Ok(Some(rgb)) if Frame::rgb_len(frame.width, frame.height) == Some(rgb.len()) => {
                    frame.data = rgb;
                    frame.encoding = PixelEncoding::Rgb8;
                    Ok(frame)
                }
                Ok(_) => Err(bad(&frame, "the JPEG is empty or of another size than the header says".into())),
                Err(e) => Err(bad(&frame, e.to_string())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use interfaces::msg::Header;

    /// A JPEG of `w`×`h` grey pixels, encoded by OpenCV.
    fn jpeg(w: i32, h: i32) -> Vec<u8> {
        let img = Mat::new_rows_cols_with_default(h, w, opencv::core::CV_8UC3, opencv::core::Scalar::all(90.0))
            .expect("image");
        let mut out = Vector::<u8>::new();
        imgcodecs::imencode_def(".jpg", &img, &mut out).expect("encode");
        out.iter().collect()
    }

    /// `data` with the frame header's height and width replaced.
    fn declaring(mut data: Vec<u8>, w: u16, h: u16) -> Vec<u8> {
        let sof = data.windows(2).position(|m| m == [0xFF, 0xC0]).expect("a baseline frame header");
        data[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
        data[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
        data
    }

    fn frame(w: u32, h: u32, encoding: PixelEncoding, data: Vec<u8>) -> Frame {
        Frame { header: Header::default(), camera: "front".into(), width: w, height: h, encoding, data }
    }

    #[test]
    fn the_frame_header_gives_the_declared_size_without_decoding() {
        assert_eq!(jpeg_dimensions(&jpeg(40, 30)), Ok((40, 30)));
        assert_eq!(jpeg_dimensions(&declaring(jpeg(8, 8), 20_000, 20_000)), Ok((20_000, 20_000)));
        assert_eq!(
            jpeg_dimensions(&declaring(jpeg(8, 8), 0, 8)),
            Err(JpegHeaderError::ZeroSize { width: 0, height: 8 })
        );
        assert_eq!(jpeg_dimensions(b"\x89PNG\r\n"), Err(JpegHeaderError::NotJpeg));
        assert!(matches!(jpeg_dimensions(&[0xFF, 0xD8, 0x12]), Err(JpegHeaderError::Corrupt { at: 2, .. })));
        assert!(matches!(jpeg_dimensions(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]), Err(JpegHeaderError::Corrupt { .. })));
        assert!(matches!(jpeg_dimensions(&[0xFF, 0xD8, 0xFF, 0xC5, 0, 8]), Err(JpegHeaderError::Unsupported(0xC5))));
        assert!(matches!(jpeg_dimensions(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 1]), Err(JpegHeaderError::Corrupt { .. })));
    }

    #[test]
    fn every_prefix_and_every_byte_flip_of_a_jpeg_header_is_judged_without_panicking() {
        let good = jpeg(16, 16);
        let header_end = good.windows(2).position(|m| m == [0xFF, 0xDA]).unwrap_or(good.len());
        for n in 0..good.len().min(header_end + 16) {
            let _ = jpeg_dimensions(&good[..n]);
        }
        for i in 0..header_end {
            for v in [0x00, 0x01, 0x7F, 0xC0, 0xD8, 0xD9, 0xDA, 0xFF] {
                let mut bad = good.clone();
                bad[i] = v;
                let _ = jpeg_dimensions(&bad);
            }
        }
        let mut fill = vec![0xFF, 0xD8];
        fill.resize(100_000, 0xFF);
        assert_eq!(jpeg_dimensions(&fill), Err(JpegHeaderError::Truncated(100_000)), "fill bytes to the end");
    }

    #[test]
    fn an_oversized_jpeg_is_refused_before_it_is_decoded() {
        // A tiny file whose header declares 20000×20000: refused on the declared size, before any decoding.
        let huge = declaring(jpeg(8, 8), 20_000, 20_000);
        assert!(huge.len() < 1024);
        let e = to_rgb8(frame(20_000, 20_000, PixelEncoding::Jpeg, huge.clone())).unwrap_err();
        assert!(e.to_string().contains("not allowed"), "{e}");
        // Declared as a small frame, its own header still says 20000×20000: refused before decoding.
        let e = to_rgb8(frame(8, 8, PixelEncoding::Jpeg, huge)).unwrap_err();
        assert!(e.to_string().contains("20000×20000"), "{e}");
        // A header that agrees with the frame decodes.
        let ok = to_rgb8(frame(40, 30, PixelEncoding::Jpeg, jpeg(40, 30))).expect("a consistent JPEG");
        assert_eq!((ok.encoding, ok.data.len()), (PixelEncoding::Rgb8, 40 * 30 * 3));
        // Corrupt after a good header: an error, never a panic.
        let mut corrupt = jpeg(40, 30);
        let n = corrupt.len();
        corrupt.truncate(n / 2);
        corrupt.extend([0x00; 16]);
        let _ = to_rgb8(frame(40, 30, PixelEncoding::Jpeg, corrupt));
        assert!(to_rgb8(frame(40, 30, PixelEncoding::Jpeg, vec![0xFF, 0xD8, 0xFF, 0x00])).is_err());
    }

    #[test]
    fn rgb8_frames_of_the_wrong_length_or_size_are_refused() {
        assert!(to_rgb8(frame(2, 2, PixelEncoding::Rgb8, vec![0; 12])).is_ok());
        assert!(to_rgb8(frame(2, 2, PixelEncoding::Rgb8, vec![0; 11])).is_err());
        assert!(to_rgb8(frame(u32::MAX, u32::MAX, PixelEncoding::Rgb8, vec![0; 3])).is_err());
        assert!(to_rgb8(frame(0, 0, PixelEncoding::Rgb8, vec![])).is_err());
    }
}
