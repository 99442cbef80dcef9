//! "L'URP in cifre", the period report as a PDF: the headline figures against the previous
//! period, then every table of the dashboard with its chart (the same geometry as the page's
//! SVG, drawn as PDF rectangles), in the reader's language.

use super::charts::Chart;
use super::report::{self, Table};
use crate::pdf::{self, Page};
use sportello_domain::Language;

const LEFT: f32 = 50.0;
const RIGHT: f32 = 545.0;
const TOP: f32 = 792.0;
const BOTTOM: f32 = 60.0;
const INK: (u8, u8, u8) = (23, 50, 77);
const SERIES: [(u8, u8, u8); 3] = [(0, 102, 204), (23, 50, 77), (92, 111, 130)];

/// Pages filled top to bottom, a new one when the next block does not fit.
struct Writer {
    pages: Vec<Page>,
    page: Page,
    y: f32,
    footer: String,
}

impl Writer {
    fn new(footer: String) -> Writer {
        Writer {
            pages: Vec::new(),
            page: Page::new(),
            y: TOP,
            footer,
        }
    }

    fn need(&mut self, height: f32) {
        if self.y - height < BOTTOM {
            self.break_page();
        }
    }

    fn break_page(&mut self) {
        let mut page = std::mem::take(&mut self.page);
        let number = self.pages.len() + 1;
        page.colour(INK);
        page.text(LEFT, 30.0, 8.0, false, &self.footer);
        page.text_right(RIGHT, 30.0, 8.0, false, &number.to_string());
        self.pages.push(page);
        self.y = TOP;
    }

    fn heading(&mut self, text: &str, size: f32) {
        self.need(size * 2.0 + 40.0);
        self.y -= size * 1.6;
        self.page.colour(INK);
        self.page.text(LEFT, self.y, size, true, text);
        self.y -= size * 0.6;
    }

    fn line(&mut self, text: &str, size: f32) {
        self.need(size * 1.5);
        self.y -= size * 1.5;
        self.page.colour(INK);
        self.y = self.page.paragraph(LEFT, self.y, size, RIGHT - LEFT, text) + size * 1.4;
    }

    /// A chart scaled to the text width.
    fn chart(&mut self, chart: &Chart) {
        let scale = (RIGHT - LEFT) / chart.width as f32;
        let height = chart.height as f32 * scale;
        self.need(height + 10.0);
        let top = self.y - 6.0;
        let y = |svg_y: f64| top - svg_y as f32 * scale;
        for line in &chart.lines {
            self.page.colour((197, 199, 201));
            let x1 = LEFT + line.x1 as f32 * scale;
            self.page
                .square(x1, y(line.y1), (line.x2 - line.x1) as f32 * scale, 0.5);
        }
        for bar in &chart.bars {
            let series = bar
                .class
                .trim_start_matches("series-")
                .parse::<usize>()
                .unwrap_or(1);
            self.page.colour(SERIES[(series.max(1) - 1) % SERIES.len()]);
            let (w, h) = (bar.width as f32 * scale, bar.height as f32 * scale);
            if w > 0.0 && h > 0.0 {
                self.page
                    .square(LEFT + bar.x as f32 * scale, y(bar.y) - h, w, h);
            }
        }
        self.page.colour(INK);
        for text in &chart.texts {
            let x = LEFT + text.x as f32 * scale;
            let size = 13.0 * scale;
            match text.anchor {
                "end" => self.page.text_right(x, y(text.y), size, false, &text.text),
                "middle" => self
                    .page
                    .text_centred(x, y(text.y), size, false, &text.text),
                _ => self.page.text(x, y(text.y), size, false, &text.text),
            }
        }
        let mut legend_x = LEFT;
        for (index, (name, _)) in chart.legend.iter().enumerate() {
            self.page.colour(SERIES[index % SERIES.len()]);
            self.page.square(legend_x, top - height - 10.0, 8.0, 8.0);
            self.page.colour(INK);
            self.page
                .text(legend_x + 12.0, top - height - 9.0, 8.0, false, name);
            legend_x += 20.0 + pdf::width(name, 8.0);
        }
        self.y = top - height - if chart.legend.is_empty() { 4.0 } else { 18.0 };
    }

    /// A table: headers wrapped in their column, numbers aligned right, a rule under the headers.
    fn table(&mut self, table: &Table, language: Language) {
        let columns = table.headers.len().max(1);
        let first = if columns > 4 { 140.0 } else { 220.0 };
        let other = (RIGHT - LEFT - first) / (columns - 1).max(1) as f32;
        let widths: Vec<f32> = (0..columns)
            .map(|i| if i == 0 { first } else { other })
            .collect();
        let size = if columns > 4 { 7.0 } else { 9.0 };
        let header_lines: Vec<Vec<String>> = table
            .headers
            .iter()
            .zip(&widths)
            .map(|(h, w)| wrap(h, size, *w - 4.0))
            .collect();
        let header_height =
            header_lines.iter().map(Vec::len).max().unwrap_or(1) as f32 * size * 1.2;
        self.need(header_height + size * 3.0);
        let mut x = LEFT;
        self.page.colour(INK);
        for (index, lines) in header_lines.iter().enumerate() {
            for (n, line) in lines.iter().enumerate() {
                let y = self.y - size * 1.2 * (n as f32 + 1.0);
                if index == 0 {
                    self.page.text(x, y, size, true, line);
                } else {
                    self.page
                        .text_right(x + widths[index] - 2.0, y, size, true, line);
                }
            }
            x += widths[index];
        }
        self.y -= header_height + 3.0;
        self.page.rule(LEFT, self.y, RIGHT - LEFT);
        for row in &table.rows {
            self.need(size * 1.5);
            self.y -= size * 1.45;
            let mut x = LEFT;
            for (index, cell) in row.iter().enumerate() {
                let text = report::shown(cell, language);
                if index == 0 {
                    let shown = wrap(&text, size, widths[0] - 4.0)
                        .into_iter()
                        .next()
                        .unwrap_or_default();
                    self.page.text(x, self.y, size, false, &shown);
                } else {
                    self.page
                        .text_right(x + widths[index] - 2.0, self.y, size, false, &text);
                }
                x += widths.get(index).copied().unwrap_or(other);
            }
        }
        self.y -= 6.0;
    }

    fn finish(mut self, title: &str) -> Vec<u8> {
        self.break_page();
        pdf::document(self.pages, title)
    }
}

/// Words of `text` in lines that fit `width` at `size`; a last line too long is cut with "…".
fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if pdf::width(&candidate, size) > width && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            line = word.to_string();
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    for line in &mut lines {
        while pdf::width(line, size) > width && line.chars().count() > 2 {
            line.pop();
            line.pop();
            line.push('…');
        }
    }
    lines
}

pub struct Cover<'a> {
    pub organisation: &'a str,
    pub title: &'a str,
    pub period: &'a str,
    pub previous: &'a str,
    pub note: &'a str,
    pub generated: &'a str,
}

/// The report: a cover block, then each table after its chart.
pub fn render(cover: &Cover, tables: &[(Table, Option<Chart>)], language: Language) -> Vec<u8> {
    let mut writer = Writer::new(format!(
        "{} · {} · {}",
        cover.organisation, cover.title, cover.period
    ));
    writer.page.colour(INK);
    writer
        .page
        .text(LEFT, writer.y, 11.0, true, cover.organisation);
    writer.y -= 30.0;
    writer.page.text(LEFT, writer.y, 24.0, true, cover.title);
    writer.y -= 8.0;
    writer.line(cover.period, 11.0);
    writer.line(cover.previous, 9.0);
    writer.line(cover.generated, 9.0);
    for (table, chart) in tables {
        writer.heading(&table.title, 13.0);
        if let Some(chart) = chart {
            writer.chart(chart);
        }
        writer.table(table, language);
    }
    writer.line(cover.note, 8.0);
    writer.finish(&format!("{} – {}", cover.title, cover.period))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statistics::report::Cell;

    #[test]
    fn long_words_are_wrapped_and_cut_to_their_column() {
        let lines = wrap("Prima risposta, 90° percentile (giorni)", 7.0, 40.0);
        assert!(lines.len() > 1);
        assert!(
            lines.iter().all(|l| pdf::width(l, 7.0) <= 40.0),
            "{lines:?}"
        );
    }

    #[test]
    fn a_long_report_breaks_into_numbered_pages() {
        let table = Table {
            id: "t",
            title: "Per argomento".into(),
            headers: vec!["Argomento".into(), "Ricevute".into()],
            rows: (0..120)
                .map(|i| vec![Cell::Text(format!("Argomento {i}")), Cell::Int(i)])
                .collect(),
        };
        let cover = Cover {
            organisation: "Comune di Esempio",
            title: "L'URP in cifre",
            period: "Dal 1 gennaio 2026 al 31 dicembre 2026.",
            previous: "",
            note: "Nota",
            generated: "",
        };
        let pdf = render(&cover, &[(table, None)], Language::It);
        let text = String::from_utf8_lossy(&pdf);
        assert!(
            text.contains("/Count 3") || text.contains("/Count 2"),
            "several pages"
        );
        assert!(text.contains("(Argomento 119)"));
        assert!(text.contains("(119)"));
    }
}
