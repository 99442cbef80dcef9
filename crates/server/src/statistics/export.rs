//! Tables written as CSV (RFC 4180, UTF-8 with a byte-order mark so spreadsheet programs read
//! the accents) and as XLSX workbooks (SpreadsheetML in a ZIP, one sheet per table). A text cell
//! that a spreadsheet would run as a formula is written with a leading apostrophe. Pure.

use super::report::{Cell, Table};

/// Text that spreadsheets would take for a formula gets an apostrophe in front.
fn defused(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r', ';']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn plain(cell: &Cell) -> String {
    match cell {
        Cell::Text(text) => defused(text),
        Cell::Int(n) => n.to_string(),
        Cell::Num(None) => String::new(),
        Cell::Num(Some(v)) => format!("{v}"),
    }
}

/// One table as CSV, with a header row. Decimals use a point.
pub fn csv(table: &Table) -> Vec<u8> {
    let mut out = csv_header(&table.headers);
    for row in &table.rows {
        out.push_str(&csv_line(row));
    }
    out.into_bytes()
}

/// The byte-order mark and the header line of a CSV file.
pub fn csv_header(headers: &[String]) -> String {
    let header: Vec<String> = headers.iter().map(|h| csv_field(&defused(h))).collect();
    format!("\u{feff}{}\r\n", header.join(","))
}

/// One CSV line, its end included.
pub fn csv_line(row: &[Cell]) -> String {
    let fields: Vec<String> = row.iter().map(|cell| csv_field(&plain(cell))).collect();
    format!("{}\r\n", fields.join(","))
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// "A", "B", … "Z", "AA" …
fn column_name(mut index: usize) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    name.reverse();
    String::from_utf8(name).expect("ASCII")
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`, unique.
fn sheet_name(title: &str, taken: &[String]) -> String {
    let clean: String = title
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(28)
        .collect();
    let mut name = if clean.trim().is_empty() {
        "Sheet".to_string()
    } else {
        clean
    };
    let base = name.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base} {n}");
        n += 1;
    }
    name
}

fn sheet(table: &Table) -> String {
    let mut out = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    let header: Vec<Cell> = table
        .headers
        .iter()
        .map(|h| Cell::Text(h.clone()))
        .collect();
    for (r, row) in std::iter::once(&header)
        .chain(table.rows.iter())
        .enumerate()
    {
        out.push_str(&format!(r#"<row r="{}">"#, r + 1));
        for (c, cell) in row.iter().enumerate() {
            let at = format!("{}{}", column_name(c), r + 1);
            match cell {
                Cell::Text(text) => out.push_str(&format!(
                    r#"<c r="{at}" t="inlineStr"><is><t xml:space="preserve">{}</t></is></c>"#,
                    xml_escape(text)
                )),
                Cell::Int(n) => out.push_str(&format!(r#"<c r="{at}"><v>{n}</v></c>"#)),
                Cell::Num(Some(v)) => out.push_str(&format!(r#"<c r="{at}"><v>{v}</v></c>"#)),
                Cell::Num(None) => {}
            }
        }
        out.push_str("</row>");
    }
    out.push_str("</sheetData></worksheet>");
    out
}

/// The tables as one workbook, a sheet each.
pub fn xlsx(tables: &[Table]) -> Vec<u8> {
    let mut names: Vec<String> = Vec::new();
    for table in tables {
        let name = sheet_name(&table.title, &names);
        names.push(name);
    }
    let mut types = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#,
    );
    let mut workbook = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>"#,
    );
    let mut rels = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    );
    for (index, name) in names.iter().enumerate() {
        let n = index + 1;
        types.push_str(&format!(
            r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#
        ));
        workbook.push_str(&format!(
            r#"<sheet name="{}" sheetId="{n}" r:id="rId{n}"/>"#,
            xml_escape(name)
        ));
        rels.push_str(&format!(
            r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#
        ));
    }
    types.push_str("</Types>");
    workbook.push_str("</sheets></workbook>");
    rels.push_str("</Relationships>");
    let mut zip = crate::zip::Writer::new();
    zip.add("[Content_Types].xml", types.as_bytes());
    zip.add(
        "_rels/.rels",
        br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
    );
    zip.add("xl/workbook.xml", workbook.as_bytes());
    zip.add("xl/_rels/workbook.xml.rels", rels.as_bytes());
    for (index, table) in tables.iter().enumerate() {
        zip.add(
            &format!("xl/worksheets/sheet{}.xml", index + 1),
            sheet(table).as_bytes(),
        );
    }
    zip.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            id: "t",
            title: "Volumi: per tipo".into(),
            headers: vec!["Tipo".into(), "Ricevute".into(), "Quota".into()],
            rows: vec![
                vec![
                    Cell::Text("Reclamo, \"grave\"".into()),
                    Cell::Int(3),
                    Cell::Num(Some(66.7)),
                ],
                vec![
                    Cell::Text("=HYPERLINK(\"x\")".into()),
                    Cell::Int(0),
                    Cell::Num(None),
                ],
            ],
        }
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_defuses_formulas() {
        let text = String::from_utf8(csv(&table())).unwrap();
        assert_eq!(
            text,
            "\u{feff}Tipo,Ricevute,Quota\r\n\"Reclamo, \"\"grave\"\"\",3,66.7\r\n\"'=HYPERLINK(\"\"x\"\")\",0,\r\n"
        );
    }

    #[test]
    fn column_names_go_past_z() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(27), "AB");
    }

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let first = sheet_name("Volumi: per tipo", &[]);
        assert_eq!(first, "Volumi per tipo");
        assert_eq!(
            sheet_name("Volumi: per tipo", &[first]),
            "Volumi per tipo 2"
        );
    }

    #[test]
    fn a_workbook_is_a_zip_with_escaped_cells() {
        let bytes = xlsx(&[table()]);
        assert!(bytes.starts_with(b"PK\x03\x04"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("Reclamo, &quot;grave&quot;"));
        assert!(text.contains(r#"<c r="B2"><v>3</v></c>"#));
    }
}
