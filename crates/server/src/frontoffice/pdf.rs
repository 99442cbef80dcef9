//! A one-page A4 PDF written by hand: text in Helvetica (WinAnsi encoding, so Italian accents
//! print) and filled squares (the QR code). Uncompressed, so its text can be read back by tests
//! and by any PDF tool. Enough for receipts; no crate needed.

/// Drawing operations on one page, in points from the bottom left (A4: 595 × 842).
#[derive(Default)]
pub struct Page {
    content: String,
}

impl Page {
    pub fn new() -> Page {
        Page::default()
    }

    /// Text at (x, y); `bold` picks Helvetica-Bold.
    pub fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str) {
        let font = if bold { "F2" } else { "F1" };
        self.content.push_str(&format!(
            "BT /{font} {size} Tf {x:.1} {y:.1} Td ({}) Tj ET\n",
            escape(text)
        ));
    }

    /// Text wrapped to `width` points (an average glyph is about half the font size wide);
    /// returns the y below the last line.
    pub fn paragraph(&mut self, x: f32, mut y: f32, size: f32, width: f32, text: &str) -> f32 {
        let per_line = ((width / (size * 0.5)) as usize).max(10);
        for source in text.lines() {
            let mut line = String::new();
            for word in source.split_whitespace() {
                if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > per_line {
                    self.text(x, y, size, false, &line);
                    y -= size * 1.4;
                    line.clear();
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
            }
            self.text(x, y, size, false, &line);
            y -= size * 1.4;
        }
        y
    }

    /// A filled rectangle.
    pub fn square(&mut self, x: f32, y: f32, w: f32, h: f32) {
        self.content
            .push_str(&format!("{x:.2} {y:.2} {w:.2} {h:.2} re f\n"));
    }

    /// A horizontal rule.
    pub fn rule(&mut self, x: f32, y: f32, w: f32) {
        self.content
            .push_str(&format!("0.5 w {x:.1} {y:.1} m {:.1} {y:.1} l S\n", x + w));
    }

    /// The finished document.
    pub fn finish(self, title: &str) -> Vec<u8> {
        let stream = encode(&self.content);
        let objects: Vec<Vec<u8>> = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>".to_vec(),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_vec(),
            [
                format!("<< /Length {} >>\nstream\n", stream.len()).into_bytes(),
                stream,
                b"\nendstream".to_vec(),
            ]
            .concat(),
            [b"<< /Title (".to_vec(), encode(&escape(title)), b") /Producer (Sportello) >>".to_vec()].concat(),
        ];
        let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::new();
        for (index, object) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", index + 1).as_bytes());
            out.extend_from_slice(object);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R /Info 7 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }
}

/// Escapes a PDF string literal.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('(', "\\(")
        .replace(')', "\\)")
}

/// Latin-1 bytes for WinAnsi (the accents of Italian are there); anything else becomes '?'.
fn encode(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '€' => 0x80,
            '’' | '‘' => b'\'',
            '“' | '”' => b'"',
            '–' | '—' => b'-',
            c if (c as u32) < 256 => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_a_well_formed_pdf_with_its_text() {
        let mut page = Page::new();
        page.text(50.0, 800.0, 12.0, true, "Ricevuta (perché) 2026/0000001");
        page.square(10.0, 10.0, 2.0, 2.0);
        let pdf = page.finish("Ricevuta");
        assert!(pdf.starts_with(b"%PDF-1.4"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("Ricevuta \\(perch"), "{text}");
        assert!(
            pdf.windows(2).any(|w| w == [b'h', 0xe9]),
            "é is one WinAnsi byte"
        );
        let xref = text.rfind("startxref\n").unwrap();
        let offset: usize = text[xref + 10..].lines().next().unwrap().parse().unwrap();
        assert_eq!(&pdf[offset..offset + 4], b"xref");
    }
}
