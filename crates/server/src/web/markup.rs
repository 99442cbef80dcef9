//! Safe formatting for text staff write (FAQ answers): paragraphs, "## " headings, "- " and
//! "1. " lists, **strong**, *emphasis* and [links](https://…). Parsed into blocks and inline
//! pieces that the templates render with auto-escaping — never raw HTML. Links go only to
//! http(s), mailto or this site's own paths.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inline {
    /// "text", "strong", "em" or "link".
    pub kind: &'static str,
    pub text: String,
    pub href: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Block {
    /// "p", "h2", "ul" or "ol".
    pub kind: &'static str,
    pub inlines: Vec<Inline>,
    pub items: Vec<Vec<Inline>>,
}

pub fn parse(text: &str) -> Vec<Block> {
    let text = text.replace("\r\n", "\n");
    let mut blocks = Vec::new();
    for chunk in text.split("\n\n").map(str::trim).filter(|c| !c.is_empty()) {
        let lines: Vec<&str> = chunk.lines().map(str::trim).collect();
        if let Some(heading) = chunk.strip_prefix("## ") {
            blocks.push(Block {
                kind: "h2",
                inlines: inlines(heading.trim()),
                items: vec![],
            });
        } else if lines
            .iter()
            .all(|l| l.starts_with("- ") || l.starts_with("* "))
        {
            let items = lines.iter().map(|l| inlines(l[2..].trim())).collect();
            blocks.push(Block {
                kind: "ul",
                inlines: vec![],
                items,
            });
        } else if lines.iter().all(|l| numbered(l).is_some()) {
            let items = lines
                .iter()
                .filter_map(|l| numbered(l))
                .map(inlines)
                .collect();
            blocks.push(Block {
                kind: "ol",
                inlines: vec![],
                items,
            });
        } else {
            blocks.push(Block {
                kind: "p",
                inlines: inlines(&lines.join(" ")),
                items: vec![],
            });
        }
    }
    blocks
}

/// "3. text" → "text".
fn numbered(line: &str) -> Option<&str> {
    let (number, rest) = line.split_once(". ")?;
    (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())).then_some(rest.trim())
}

fn safe_href(href: &str) -> Option<String> {
    let href = href.trim();
    let ok = href.starts_with("https://")
        || href.starts_with("http://")
        || href.starts_with("mailto:")
        || (href.starts_with('/') && !href.starts_with("//"));
    (ok && !href.contains(char::is_whitespace) && !href.contains(['"', '<', '>', '\\']))
        .then(|| href.to_string())
}

fn inlines(text: &str) -> Vec<Inline> {
    let mut out: Vec<Inline> = Vec::new();
    let mut plain = String::new();
    let push_plain = |plain: &mut String, out: &mut Vec<Inline>| {
        if !plain.is_empty() {
            out.push(Inline {
                kind: "text",
                text: std::mem::take(plain),
                href: None,
            });
        }
    };
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("**") {
            if let Some(end) = after.find("**").filter(|&e| e > 0) {
                push_plain(&mut plain, &mut out);
                out.push(Inline {
                    kind: "strong",
                    text: after[..end].to_string(),
                    href: None,
                });
                rest = &after[end + 2..];
                continue;
            }
        }
        if c == '*' || c == '_' {
            let after = &rest[1..];
            if let Some(end) = after.find(c).filter(|&e| e > 0 && !after.starts_with(' ')) {
                push_plain(&mut plain, &mut out);
                out.push(Inline {
                    kind: "em",
                    text: after[..end].to_string(),
                    href: None,
                });
                rest = &after[end + 1..];
                continue;
            }
        }
        if c == '[' {
            if let Some((label, after)) = rest[1..].split_once("](") {
                if let Some((href, tail)) = after.split_once(')') {
                    if let Some(href) = safe_href(href).filter(|_| !label.contains(']')) {
                        push_plain(&mut plain, &mut out);
                        out.push(Inline {
                            kind: "link",
                            text: label.to_string(),
                            href: Some(href),
                        });
                        rest = tail;
                        continue;
                    }
                }
            }
        }
        plain.push(c);
        rest = &rest[c.len_utf8()..];
    }
    push_plain(&mut plain, &mut out);
    out
}

/// The text without its formatting marks (for search excerpts and e-mails).
pub fn plain(text: &str) -> String {
    parse(text)
        .iter()
        .map(|block| {
            let line =
                |inlines: &Vec<Inline>| inlines.iter().map(|i| i.text.as_str()).collect::<String>();
            if block.items.is_empty() {
                line(&block.inlines)
            } else {
                block
                    .items
                    .iter()
                    .map(|item| format!("- {}", line(item)))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_lists_emphasis_and_links() {
        let blocks = parse("Porta **il documento** e *una foto*.\n\n- uno\n- [due](https://comune.example.it/x)\n\n1. primo\n2. secondo");
        assert_eq!(blocks.len(), 3);
        assert_eq!(
            blocks[0].inlines[1],
            Inline {
                kind: "strong",
                text: "il documento".into(),
                href: None
            }
        );
        assert_eq!(blocks[0].inlines[3].kind, "em");
        assert_eq!(blocks[1].kind, "ul");
        assert_eq!(
            blocks[1].items[1][0].href.as_deref(),
            Some("https://comune.example.it/x")
        );
        assert_eq!(blocks[2].kind, "ol");
        assert_eq!(blocks[2].items[1][0].text, "secondo");
    }

    #[test]
    fn unsafe_links_and_html_stay_text() {
        let blocks = parse("[clic](javascript:alert(1)) <script>x</script>");
        assert!(blocks[0].inlines.iter().all(|i| i.kind == "text"));
        let text: String = blocks[0].inlines.iter().map(|i| i.text.as_str()).collect();
        assert!(
            text.contains("<script>"),
            "kept as text, escaped by the template"
        );
    }

    #[test]
    fn plain_text_drops_the_marks() {
        assert_eq!(plain("**Orari**: [qui](/x)"), "Orari: qui");
    }
}
