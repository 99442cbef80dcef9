//! A4 PDFs written by hand: text in Helvetica (WinAnsi encoding, so Italian accents print),
//! filled rectangles in colour (QR codes, charts) and rules, on one page or several.
//! Uncompressed, so their text can be read back by tests and by any PDF tool. Enough for
//! receipts and reports; no crate needed.

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

    /// The colour of what is filled next (text and rectangles), 0–255 per channel.
    pub fn colour(&mut self, (r, g, b): (u8, u8, u8)) {
        self.content.push_str(&format!(
            "{:.3} {:.3} {:.3} rg\n",
            f32::from(r) / 255.0,
            f32::from(g) / 255.0,
            f32::from(b) / 255.0
        ));
    }

    /// Text ending at `right` (numbers in columns).
    pub fn text_right(&mut self, right: f32, y: f32, size: f32, bold: bool, text: &str) {
        self.text(right - width(text, size), y, size, bold, text);
    }

    /// Text centred on `x`.
    pub fn text_centred(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str) {
        self.text(x - width(text, size) / 2.0, y, size, bold, text);
    }

    /// A horizontal rule.
    pub fn rule(&mut self, x: f32, y: f32, w: f32) {
        self.content
            .push_str(&format!("0.5 w {x:.1} {y:.1} m {:.1} {y:.1} l S\n", x + w));
    }

    /// The finished one-page document.
    pub fn finish(self, title: &str) -> Vec<u8> {
        document(vec![self], title)
    }
}

/// About how wide `text` is in Helvetica at `size`: digits and the punctuation of numbers at
/// their real widths, other characters at an average.
pub fn width(text: &str, size: f32) -> f32 {
    let em: f32 = text
        .chars()
        .map(|c| match c {
            '0'..='9' | '–' | '-' => 0.556,
            '.' | ',' | ' ' => 0.278,
            '%' => 0.889,
            'i' | 'l' | 'j' | 't' | 'f' | 'I' => 0.28,
            'm' | 'w' | 'M' | 'W' => 0.83,
            c if c.is_uppercase() => 0.67,
            _ => 0.52,
        })
        .sum();
    em * size
}

/// The finished document: its pages in order.
pub fn document(pages: Vec<Page>, title: &str) -> Vec<u8> {
    // 1 catalog, 2 page tree, 3 and 4 fonts, 5 info, then a page and its content per page.
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", 6 + 2 * i))
        .collect();
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_vec(),
        [
            b"<< /Title (".to_vec(),
            encode(&escape(title)),
            b") /Producer (Sportello) >>".to_vec(),
        ]
        .concat(),
    ];
    for (index, page) in pages.into_iter().enumerate() {
        let content = 7 + 2 * index;
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {content} 0 R >>"
        ).into_bytes());
        let stream = encode(&page.content);
        objects.push(
            [
                format!("<< /Length {} >>\nstream\n", stream.len()).into_bytes(),
                stream,
                b"\nendstream".to_vec(),
            ]
            .concat(),
        );
    }
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
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
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
            '–' => 0x96,
            '—' => 0x97,
            '…' => 0x85,
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

    #[test]
    fn a_document_has_its_pages_in_order() {
        let mut first = Page::new();
        first.text(50.0, 800.0, 12.0, false, "uno");
        let mut second = Page::new();
        second.colour((0, 102, 204));
        second.text_right(545.0, 800.0, 12.0, false, "due");
        let pdf = document(vec![first, second], "Due pagine");
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/Kids [6 0 R 8 0 R] /Count 2"));
        assert!(text.find("(uno)").unwrap() < text.find("(due)").unwrap());
        assert!(text.contains("0.000 0.400 0.800 rg"));
    }
}
