//! The API's reference page (`/api/v1/docs`), built from the same OpenAPI document the API serves:
//! every operation with its parameters, body and answers, and every schema with its fields.
//! Rendered on the server like every page — readable without JavaScript, under the site's CSP
//! and accessibility checks — rather than by a script viewer.

use axum::response::Response;
use minijinja::context;
use serde::Serialize;
use serde_json::Value;

use crate::state::Desk;
use crate::web::{Result, View};

pub const PAGE: &str = "/api/v1/docs";

#[derive(Serialize)]
struct Operation {
    id: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    scopes: String,
    parameters: Vec<Field>,
    body: Option<String>,
    responses: Vec<(String, String)>,
}

#[derive(Serialize)]
struct Field {
    name: String,
    place: String,
    kind: String,
    required: bool,
    description: String,
}

#[derive(Serialize)]
struct Schema {
    name: String,
    description: String,
    fields: Vec<Field>,
}

/// A schema's type in words: `string`, `integer`, `Problem`, `array of RequestSummary` …
fn kind_of(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return reference
            .rsplit('/')
            .next()
            .unwrap_or(reference)
            .to_string();
    }
    if let Some(options) = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)
    {
        let kinds: Vec<String> = options
            .iter()
            .filter(|o| o.get("type").and_then(Value::as_str) != Some("null"))
            .map(kind_of)
            .collect();
        return kinds.join(" | ");
    }
    let base = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "object".to_string(),
    };
    let base = match schema.get("items") {
        Some(items) if base == "array" => format!("array of {}", kind_of(items)),
        _ => base,
    };
    match schema.get("enum").and_then(Value::as_array) {
        Some(values) => format!(
            "{base}: {}",
            values
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => match schema.get("format").and_then(Value::as_str) {
            Some(format) => format!("{base} ({format})"),
            None => base,
        },
    }
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn operations(document: &Value) -> Vec<Operation> {
    let mut all = Vec::new();
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return all;
    };
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let parameters = operation
                .get("parameters")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .map(|p| Field {
                            name: text(p, "name"),
                            place: text(p, "in"),
                            kind: p.get("schema").map(kind_of).unwrap_or_default(),
                            required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
                            description: text(p, "description"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let body = operation
                .pointer("/requestBody/content")
                .and_then(Value::as_object)
                .and_then(|content| content.values().next())
                .and_then(|media| media.get("schema"))
                .map(kind_of);
            let responses = operation
                .get("responses")
                .and_then(Value::as_object)
                .map(|r| {
                    r.iter()
                        .map(|(status, answer)| (status.clone(), text(answer, "description")))
                        .collect()
                })
                .unwrap_or_default();
            let scopes = operation
                .get("security")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|s| s.get("bearer").and_then(Value::as_array))
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let id = format!(
                "{method}-{}",
                path.replace(['/', '{', '}'], "-").trim_matches('-')
            );
            all.push(Operation {
                id,
                method: method.to_uppercase(),
                path: path.clone(),
                summary: text(operation, "summary"),
                description: text(operation, "description"),
                scopes,
                parameters,
                body,
                responses,
            });
        }
    }
    all
}

fn schemas(document: &Value) -> Vec<Schema> {
    let Some(all) = document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    all.iter()
        .map(|(name, schema)| {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let fields = schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    props
                        .iter()
                        .map(|(field, property)| Field {
                            name: field.clone(),
                            place: String::new(),
                            kind: kind_of(property),
                            required: required.contains(&field.as_str()),
                            description: text(property, "description"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Schema {
                name: name.clone(),
                description: text(schema, "description"),
                fields,
            }
        })
        .collect()
}

pub async fn page(Desk { app, language }: Desk) -> Result<Response> {
    let document = serde_json::to_value(super::document()).unwrap_or_default();
    let view = View::new("api_reference.html", PAGE, "api.reference.title").with(context! {
        version => text(document.get("info").unwrap_or(&Value::Null), "version"),
        description => text(document.get("info").unwrap_or(&Value::Null), "description"),
        operations => operations(&document),
        schemas => schemas(&document),
    });
    app.render(language, view)
}
