//! The QR code of the tracking link, as SVG for the printable page and as squares in the PDF.

use qrcode::{Color, EcLevel, QrCode};

/// The code's modules, row by row (`true` is dark), and its width; `None` if the text is too
/// long for a QR code.
pub fn modules(text: &str) -> Option<(Vec<bool>, usize)> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    Some((
        code.to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect(),
        width,
    ))
}

/// An SVG image with a four-module quiet zone; decorative for screen readers (the link is
/// written next to it).
pub fn svg(text: &str) -> Option<String> {
    let (dark, width) = modules(text)?;
    let size = width + 8;
    let mut path = String::new();
    for (index, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
        let (x, y) = (index % width + 4, index / width + 4);
        path.push_str(&format!("M{x} {y}h1v1h-1z"));
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"160\" height=\"160\" aria-hidden=\"true\" focusable=\"false\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_link_makes_a_square_code() {
        let (dark, width) = super::modules("https://comune.example.it/segui/abc").unwrap();
        assert_eq!(dark.len(), width * width);
        assert!(dark[0], "the finder pattern's corner is dark");
        assert!(super::svg("x").unwrap().starts_with("<svg"));
    }
}
