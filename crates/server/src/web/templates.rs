//! Server-rendered pages: minijinja templates embedded in the binary, auto-escaped (`.html`),
//! with `t("key", name=value)` reading the page's language from the context.

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, State};
use serde::Serialize;
use sportello_domain::Language;

use super::i18n;

/// Embedded templates: (name, source).
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/layout.html")),
    (
        "admin/reports.html",
        include_str!("../../templates/admin/reports.html"),
    ),
    (
        "admin/status.html",
        include_str!("../../templates/admin/status.html"),
    ),
    (
        "admin/api_clients.html",
        include_str!("../../templates/admin/api_clients.html"),
    ),
    (
        "api_reference.html",
        include_str!("../../templates/api_reference.html"),
    ),
    (
        "log_checkpoints.html",
        include_str!("../../templates/log_checkpoints.html"),
    ),
    (
        "admin/webhooks.html",
        include_str!("../../templates/admin/webhooks.html"),
    ),
    (
        "admin/webhook.html",
        include_str!("../../templates/admin/webhook.html"),
    ),
    (
        "mail/webhook_disabled.txt",
        include_str!("../../templates/mail/webhook_disabled.txt"),
    ),
    (
        "statistics/public.html",
        include_str!("../../templates/statistics/public.html"),
    ),
    (
        "statistics/dashboard.html",
        include_str!("../../templates/statistics/dashboard.html"),
    ),
    (
        "audit/find.html",
        include_str!("../../templates/audit/find.html"),
    ),
    (
        "audit/history.html",
        include_str!("../../templates/audit/history.html"),
    ),
    (
        "faq/search_form.html",
        include_str!("../../templates/faq/search_form.html"),
    ),
    (
        "faq/index.html",
        include_str!("../../templates/faq/index.html"),
    ),
    (
        "faq/topic.html",
        include_str!("../../templates/faq/topic.html"),
    ),
    (
        "faq/question.html",
        include_str!("../../templates/faq/question.html"),
    ),
    (
        "faq/results.html",
        include_str!("../../templates/faq/results.html"),
    ),
    (
        "faq/search.html",
        include_str!("../../templates/faq/search.html"),
    ),
    (
        "faq/suggestions.html",
        include_str!("../../templates/faq/suggestions.html"),
    ),
    (
        "faq/staff_list.html",
        include_str!("../../templates/faq/staff_list.html"),
    ),
    (
        "faq/staff_edit.html",
        include_str!("../../templates/faq/staff_edit.html"),
    ),
    (
        "faq/staff_history.html",
        include_str!("../../templates/faq/staff_history.html"),
    ),
    (
        "faq/staff_missing.html",
        include_str!("../../templates/faq/staff_missing.html"),
    ),
    (
        "mail_in/quarantine.html",
        include_str!("../../templates/mail_in/quarantine.html"),
    ),
    (
        "mail_in/mailboxes.html",
        include_str!("../../templates/mail_in/mailboxes.html"),
    ),
    (
        "documents/list.html",
        include_str!("../../templates/documents/list.html"),
    ),
    (
        "documents/staff.html",
        include_str!("../../templates/documents/staff.html"),
    ),
    (
        "frontoffice/home.html",
        include_str!("../../templates/frontoffice/home.html"),
    ),
    (
        "frontoffice/citizen.html",
        include_str!("../../templates/frontoffice/citizen.html"),
    ),
    (
        "frontoffice/entry.html",
        include_str!("../../templates/frontoffice/entry.html"),
    ),
    (
        "frontoffice/receipt.html",
        include_str!("../../templates/frontoffice/receipt.html"),
    ),
    (
        "frontoffice/request.html",
        include_str!("../../templates/frontoffice/request.html"),
    ),
    (
        "area/register.html",
        include_str!("../../templates/area/register.html"),
    ),
    (
        "area/login.html",
        include_str!("../../templates/area/login.html"),
    ),
    (
        "area/message.html",
        include_str!("../../templates/area/message.html"),
    ),
    (
        "area/confirm.html",
        include_str!("../../templates/area/confirm.html"),
    ),
    (
        "area/confirm_account.html",
        include_str!("../../templates/area/confirm_account.html"),
    ),
    (
        "area/forgot.html",
        include_str!("../../templates/area/forgot.html"),
    ),
    (
        "area/reset.html",
        include_str!("../../templates/area/reset.html"),
    ),
    (
        "area/profile.html",
        include_str!("../../templates/area/profile.html"),
    ),
    (
        "area/nav.html",
        include_str!("../../templates/area/nav.html"),
    ),
    (
        "area/home.html",
        include_str!("../../templates/area/home.html"),
    ),
    (
        "mail/citizen_link.txt",
        include_str!("../../templates/mail/citizen_link.txt"),
    ),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("home.html", include_str!("../../templates/home.html")),
    (
        "new_request.html",
        include_str!("../../templates/new_request.html"),
    ),
    (
        "confirmation.html",
        include_str!("../../templates/confirmation.html"),
    ),
    (
        "tracking.html",
        include_str!("../../templates/tracking.html"),
    ),
    (
        "site_page.html",
        include_str!("../../templates/site_page.html"),
    ),
    (
        "admin/pages.html",
        include_str!("../../templates/admin/pages.html"),
    ),
    ("error.html", include_str!("../../templates/error.html")),
    (
        "backoffice/login.html",
        include_str!("../../templates/backoffice/login.html"),
    ),
    (
        "backoffice/inbox.html",
        include_str!("../../templates/backoffice/inbox.html"),
    ),
    (
        "backoffice/request.html",
        include_str!("../../templates/backoffice/request.html"),
    ),
    (
        "mail/acknowledgement.txt",
        include_str!("../../templates/mail/acknowledgement.txt"),
    ),
    (
        "mail/acknowledgement.html",
        include_str!("../../templates/mail/acknowledgement.html"),
    ),
    (
        "mail/notice.txt",
        include_str!("../../templates/mail/notice.txt"),
    ),
    (
        "mail/notice.html",
        include_str!("../../templates/mail/notice.html"),
    ),
    (
        "mail/invitation.txt",
        include_str!("../../templates/mail/invitation.txt"),
    ),
    (
        "admin/nav.html",
        include_str!("../../templates/admin/nav.html"),
    ),
    (
        "admin/settings.html",
        include_str!("../../templates/admin/settings.html"),
    ),
    (
        "admin/departments.html",
        include_str!("../../templates/admin/departments.html"),
    ),
    (
        "admin/bodies.html",
        include_str!("../../templates/admin/bodies.html"),
    ),
    (
        "admin/topics.html",
        include_str!("../../templates/admin/topics.html"),
    ),
    (
        "admin/users.html",
        include_str!("../../templates/admin/users.html"),
    ),
    (
        "admin/invitation.html",
        include_str!("../../templates/admin/invitation.html"),
    ),
    (
        "backoffice/code.html",
        include_str!("../../templates/backoffice/code.html"),
    ),
    (
        "backoffice/totp.html",
        include_str!("../../templates/backoffice/totp.html"),
    ),
    (
        "admin/answers.html",
        include_str!("../../templates/admin/answers.html"),
    ),
];

pub struct Templates {
    env: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Templates::new()
    }
}

impl Templates {
    pub fn new() -> Templates {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|error| panic!("template {name}: {error}"));
        }
        env.add_function("t", translate);
        env.set_formatter(html_formatter);
        env.add_global("assets", super::assets::PREFIX);
        Templates { env }
    }

    /// Renders `name` with `context`; the context must carry `lang` ("it" or "en").
    pub fn render(&self, name: &str, context: Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(context)
    }

    /// Every template name, for the test that renders each key through the catalogue.
    pub fn sources() -> impl Iterator<Item = (&'static str, &'static str)> {
        TEMPLATES.iter().copied()
    }
}

/// minijinja's escaping, except that `/` stays `/`: it needs no escaping in HTML text or quoted
/// attributes, and links (in mail especially) read better without `&#x2f;`. Every printed
/// string loses its bidirectional controls and invisible format characters (`web::text`), in
/// pages and in mail alike.
fn html_formatter(
    out: &mut minijinja::Output,
    state: &State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    let write = |out: &mut minijinja::Output, text: &str| {
        std::fmt::Write::write_str(out, text).map_err(|_| {
            minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "writing the page")
        })
    };
    let text = match value.as_str() {
        Some(text) if value.is_safe() => return write(out, text),
        Some(text) if state.auto_escape() == minijinja::AutoEscape::Html => text,
        Some(text) => return write(out, &super::text::visible(text)),
        None => return minijinja::escape_formatter(out, state, value),
    };
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if super::text::is_invisible_format(c) => {}
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            c => escaped.push(c),
        }
    }
    write(out, &escaped)
}

fn translate(state: &State, key: &str, kwargs: Kwargs) -> Result<String, minijinja::Error> {
    let language = state
        .lookup("lang")
        .and_then(|lang| lang.as_str().and_then(Language::parse))
        .unwrap_or(Language::It);
    let mut args: Vec<(String, String)> = Vec::new();
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        args.push((name.to_string(), value.to_string()));
    }
    let borrowed: Vec<(&str, &str)> = args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Ok(i18n::text(language, key, &borrowed))
}

/// What the layout needs on every page.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub lang: &'static str,
    /// The path the language switch returns to.
    pub path: String,
    pub organisation: String,
    pub title_key: &'static str,
}

impl Page {
    pub fn new(
        language: Language,
        path: &str,
        organisation: &str,
        title_key: &'static str,
    ) -> Page {
        Page {
            lang: language.code(),
            path: path.to_string(),
            organisation: organisation.to_string(),
            title_key,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every literal `t("…")` in a template names a key both catalogues have. (Keys built at
    /// render time, like `"kind." ~ kind`, end with a dot here and are checked by rendering.)
    #[test]
    fn every_key_used_by_a_template_is_translated() {
        let mut missing = Vec::new();
        for (name, source) in Templates::sources() {
            let mut pieces = source.split("t(\"");
            let mut before = pieces.next().unwrap_or_default();
            for piece in pieces {
                let key = piece.split('"').next().unwrap_or_default();
                let is_call = !before.ends_with(|c: char| c.is_alphanumeric() || c == '_');
                if is_call && !key.ends_with('.') && !i18n::has(key) {
                    missing.push(format!("{name}: {key}"));
                }
                before = piece;
            }
        }
        assert!(missing.is_empty(), "untranslated keys: {missing:?}");
    }

    #[test]
    fn no_printed_value_carries_a_bidirectional_override_in_pages_or_text_mail() {
        let mut env = Environment::new();
        env.set_formatter(html_formatter);
        env.add_template("x.html", "{{ name }}").unwrap();
        env.add_template("x.txt", "{{ name }}").unwrap();
        for template in ["x.html", "x.txt"] {
            let out = env
                .get_template(template)
                .unwrap()
                .render(minijinja::context! { name => "fdp\u{202E}exe.pdf\u{2066}" })
                .unwrap();
            assert_eq!(out, "fdpexe.pdf", "{template}");
        }
    }

    #[test]
    fn values_are_escaped_but_slashes_stay() {
        let mut env = Environment::new();
        env.set_formatter(html_formatter);
        env.add_template("x.html", "<a href=\"{{ url }}\">{{ text }}</a>")
            .unwrap();
        let out = env
            .get_template("x.html")
            .unwrap()
            .render(minijinja::context! {
                url => "https://x.it/a?b=1&c=\"2\"", text => "<script>alert('x')</script>"
            });
        assert_eq!(
            out.unwrap(),
            "<a href=\"https://x.it/a?b=1&amp;c=&quot;2&quot;\">&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;</a>"
        );
    }

    /// A template file that is not registered would fail only when first rendered.
    #[test]
    fn every_template_file_is_registered() {
        fn walk(dir: &std::path::Path, base: &std::path::Path, names: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, base, names);
                } else {
                    names.push(
                        path.strip_prefix(base)
                            .unwrap()
                            .to_string_lossy()
                            .replace('\\', "/"),
                    );
                }
            }
        }
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut files = Vec::new();
        walk(&base, &base, &mut files);
        files.sort();
        let mut registered: Vec<String> = Templates::sources()
            .map(|(name, _)| name.to_string())
            .collect();
        registered.sort();
        assert_eq!(files, registered);
    }

    #[test]
    fn every_template_compiles() {
        let _ = Templates::new();
    }
}
