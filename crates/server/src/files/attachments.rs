//! Attachments: accepted by what their bytes are (never by name or declared type), limited in
//! size and number, and prepared for storage — images decoded, turned upright and re-encoded so
//! that EXIF (GPS position included) is gone, with a thumbnail.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

pub use crate::web::upload::{MAX_FILES, MAX_FILE_BYTES};
const THUMBNAIL_SIDE: u32 = 320;
const MAX_IMAGE_SIDE: u32 = 12_000;

/// A file ready to be stored: its content address, type and bytes.
#[derive(Debug, Clone)]
pub struct PreparedFile {
    pub id: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// An upload ready for the request: the file, maybe a thumbnail, the name the citizen gave it.
#[derive(Debug, Clone)]
pub struct PreparedAttachment {
    pub file: PreparedFile,
    pub thumbnail: Option<PreparedFile>,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AttachmentError {
    #[error("the file is larger than 10 MB")]
    TooLarge,
    #[error("the file is not of an accepted type")]
    NotAllowed,
    #[error("the file cannot be read")]
    Unreadable,
    #[error("the file is empty")]
    Empty,
}

impl AttachmentError {
    pub fn message_key(self) -> &'static str {
        match self {
            AttachmentError::TooLarge => "form.error.attachment_too_large",
            AttachmentError::NotAllowed => "form.error.attachment_type",
            AttachmentError::Unreadable => "form.error.attachment_unreadable",
            AttachmentError::Empty => "form.error.attachment_empty",
        }
    }
}

/// What the bytes are, if we accept them.
pub fn detect(bytes: &[u8]) -> Option<&'static str> {
    const OLE2: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if bytes.starts_with(b"%PDF-") {
        return Some("application/pdf");
    }
    if bytes.starts_with(OLE2) {
        return Some("application/vnd.ms-office");
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return detect_zip(bytes);
    }
    None
}

/// OpenDocument files start with a stored `mimetype` entry; Office Open XML files carry
/// `[Content_Types].xml` and a part folder naming the application.
fn detect_zip(bytes: &[u8]) -> Option<&'static str> {
    if bytes.get(30..38) == Some(b"mimetype") {
        let rest = &bytes[38..bytes.len().min(38 + 80)];
        for (mime, content_type) in [
            (
                &b"application/vnd.oasis.opendocument.text"[..],
                "application/vnd.oasis.opendocument.text",
            ),
            (
                b"application/vnd.oasis.opendocument.spreadsheet",
                "application/vnd.oasis.opendocument.spreadsheet",
            ),
            (
                b"application/vnd.oasis.opendocument.presentation",
                "application/vnd.oasis.opendocument.presentation",
            ),
        ] {
            if rest.starts_with(mime) {
                return Some(content_type);
            }
        }
        return None;
    }
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|window| window == needle);
    if !has(b"[Content_Types].xml") {
        return None;
    }
    if has(b"word/") {
        Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    } else if has(b"xl/") {
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    } else if has(b"ppt/") {
        Some("application/vnd.openxmlformats-officedocument.presentationml.presentation")
    } else {
        None
    }
}

/// Checks and prepares one upload. CPU-heavy for images: call it from a blocking task.
pub fn prepare(name: &str, bytes: Vec<u8>) -> Result<PreparedAttachment, AttachmentError> {
    if bytes.is_empty() {
        return Err(AttachmentError::Empty);
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(AttachmentError::TooLarge);
    }
    let content_type = detect(&bytes).ok_or(AttachmentError::NotAllowed)?;
    let name = safe_name(name);
    let (file, thumbnail) = match content_type {
        "image/jpeg" => reencode(&bytes, ImageFormat::Jpeg)?,
        "image/png" => reencode(&bytes, ImageFormat::Png)?,
        _ => (stored(content_type, bytes), None),
    };
    Ok(PreparedAttachment {
        file,
        thumbnail,
        name,
    })
}

fn stored(content_type: &'static str, bytes: Vec<u8>) -> PreparedFile {
    PreparedFile {
        id: hex::encode(Sha256::digest(&bytes)),
        content_type,
        bytes,
    }
}

fn reencode(
    bytes: &[u8],
    format: ImageFormat,
) -> Result<(PreparedFile, Option<PreparedFile>), AttachmentError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|_| AttachmentError::Unreadable)?;
    let orientation = decoder
        .orientation()
        .map_err(|_| AttachmentError::Unreadable)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|_| AttachmentError::Unreadable)?;
    image.apply_orientation(orientation);
    let (main, content_type) = match format {
        ImageFormat::Png => (encode(&image, ImageFormat::Png)?, "image/png"),
        _ => (
            encode(&DynamicImage::ImageRgb8(image.to_rgb8()), ImageFormat::Jpeg)?,
            "image/jpeg",
        ),
    };
    // A small image is its own thumbnail: resampling it would only cost time.
    let fits = image.width() <= THUMBNAIL_SIDE && image.height() <= THUMBNAIL_SIDE;
    let small = if fits {
        image.to_rgb8()
    } else {
        image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE).to_rgb8()
    };
    let thumbnail = encode(&DynamicImage::ImageRgb8(small), ImageFormat::Jpeg)?;
    Ok((
        stored(content_type, main),
        Some(stored("image/jpeg", thumbnail)),
    ))
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, AttachmentError> {
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, format)
        .map_err(|_| AttachmentError::Unreadable)?;
    Ok(out.into_inner())
}

/// The citizen's file name without any path, control characters or quotes, at most 120 chars.
pub fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| {
            !c.is_control()
                && !"\"<>|:*?".contains(*c)
                && !crate::web::text::is_invisible_format(*c)
        })
        .take(120)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "allegato".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg_with_exif() -> Vec<u8> {
        let image = DynamicImage::new_rgb8(40, 20);
        let plain = encode(&image, ImageFormat::Jpeg).unwrap();
        // An APP1 EXIF segment right after SOI, carrying a recognisable marker.
        let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\0GPS-SECRET".to_vec();
        let length = (exif.len() + 2) as u16;
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE1];
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.append(&mut exif);
        bytes.extend_from_slice(&plain[2..]);
        bytes
    }

    #[test]
    fn types_are_recognised_by_their_bytes() {
        assert_eq!(detect(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(detect(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(detect(b"MZ\x90\0 an executable"), None);
        assert_eq!(detect(b"<html><script>"), None);
        let mut odt = b"PK\x03\x04".to_vec();
        odt.resize(30, 0);
        odt.extend_from_slice(b"mimetypeapplication/vnd.oasis.opendocument.text");
        assert_eq!(
            detect(&odt),
            Some("application/vnd.oasis.opendocument.text")
        );
        let docx = b"PK\x03\x04....[Content_Types].xml....word/document.xml".to_vec();
        assert!(detect(&docx).unwrap().contains("wordprocessingml"));
        assert_eq!(detect(b"PK\x03\x04 a plain zip"), None);
    }

    #[test]
    fn images_are_reencoded_without_exif_and_get_a_thumbnail() {
        let original = jpeg_with_exif();
        assert!(original.windows(10).any(|w| w == b"GPS-SECRET"));
        let prepared = prepare("foto.jpg", original).unwrap();
        assert_eq!(prepared.file.content_type, "image/jpeg");
        assert!(!prepared.file.bytes.windows(10).any(|w| w == b"GPS-SECRET"));
        let thumbnail = prepared.thumbnail.unwrap();
        assert_eq!(thumbnail.content_type, "image/jpeg");
        assert_eq!(thumbnail.id.len(), 64);
    }

    #[test]
    fn a_broken_image_is_refused() {
        assert_eq!(
            prepare("x.jpg", vec![0xFF, 0xD8, 0xFF, 0x00, 0x01]).unwrap_err(),
            AttachmentError::Unreadable
        );
    }

    #[test]
    fn size_and_emptiness_are_checked_first() {
        assert_eq!(
            prepare("x.pdf", vec![]).unwrap_err(),
            AttachmentError::Empty
        );
        let mut big = b"%PDF-".to_vec();
        big.resize(MAX_FILE_BYTES + 1, b' ');
        assert_eq!(
            prepare("x.pdf", big).unwrap_err(),
            AttachmentError::TooLarge
        );
    }

    #[test]
    fn names_lose_paths_and_dangerous_characters() {
        assert_eq!(safe_name("C:\\Users\\maria\\foto \"1\".jpg"), "foto 1.jpg");
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("..."), "allegato");
    }
}
