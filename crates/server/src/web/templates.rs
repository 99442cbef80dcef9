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
    ("macros.html", include_str!("../../templates/macros.html")),
    ("home.html", include_str!("../../templates/home.html")),
    ("new_request.html", include_str!("../../templates/new_request.html")),
    ("confirmation.html", include_str!("../../templates/confirmation.html")),
    ("tracking.html", include_str!("../../templates/tracking.html")),
    ("privacy.html", include_str!("../../templates/privacy.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("mail/acknowledgement.txt", include_str!("../../templates/mail/acknowledgement.txt")),
    ("mail/acknowledgement.html", include_str!("../../templates/mail/acknowledgement.html")),
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
            env.add_template(name, source).unwrap_or_else(|error| panic!("template {name}: {error}"));
        }
        env.add_function("t", translate);
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
    pub fn new(language: Language, path: &str, organisation: &str, title_key: &'static str) -> Page {
        Page { lang: language.code(), path: path.to_string(), organisation: organisation.to_string(), title_key }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `t("…")` in a template names a key both catalogues have.
    #[test]
    fn every_key_used_by_a_template_is_translated() {
        let mut missing = Vec::new();
        for (name, source) in Templates::sources() {
            for piece in source.split("t(\"").skip(1) {
                let key = piece.split('"').next().unwrap_or_default();
                if !i18n::has(key) {
                    missing.push(format!("{name}: {key}"));
                }
            }
        }
        assert!(missing.is_empty(), "untranslated keys: {missing:?}");
    }

    #[test]
    fn every_template_compiles() {
        let _ = Templates::new();
    }
}
