//! Discovery and the services: each active topic of the Comune is a service; the kind of
//! request (complaint, suggestion …) is the services' one attribute.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use sportello_domain::{Kind, Language};

use super::format::{self, Format};
use crate::directory;
use crate::state::AppState;
use crate::web::i18n;

pub fn discovery(app: &AppState, format: Format) -> Response {
    let base = app.config.public_url.trim_end_matches('/');
    let value = json!({
        "changeset": "2026-12-03T00:00:00Z",
        "contact": format!("{} — {}", app.organisation_name, base),
        "key_service": format!("{base}/ufficio/amministrazione/api"),
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": format!("{base}/open311/v2"),
            "changeset": "2026-12-03T00:00:00Z",
            "type": "production",
            "formats": ["application/json", "text/xml"],
        }],
    });
    format::answer(format, StatusCode::OK, "discovery", value)
}

pub async fn list(app: &AppState, format: Format) -> Response {
    let topics = match directory::active_topics(&app.pool, app.organisation_id).await {
        Ok(topics) => topics,
        Err(_) => {
            return format::error(format, StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    };
    let services: Vec<Value> = topics
        .iter()
        .map(|topic| {
            json!({
                "service_code": topic.code,
                "service_name": topic.name_it,
                "description": topic.name_en,
                "metadata": true,
                "type": "realtime",
                "keywords": "",
                "group": "",
            })
        })
        .collect();
    format::answer(format, StatusCode::OK, "services", Value::Array(services))
}

pub async fn definition(app: &AppState, code: &str, format: Format) -> Response {
    let topics = match directory::active_topic_codes(&app.pool, app.organisation_id).await {
        Ok(topics) => topics,
        Err(_) => {
            return format::error(format, StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    };
    if !topics.iter().any(|t| t == code) {
        return format::error(format, StatusCode::NOT_FOUND, "service_code not found");
    }
    let values: Vec<Value> = Kind::ALL
        .iter()
        .map(|kind| {
            json!({
                "key": kind.code(),
                "name": i18n::text(Language::It, &format!("kind.{}", kind.code()), &[]),
            })
        })
        .collect();
    let value = json!({
        "service_code": code,
        "attributes": [{
            "variable": true,
            "code": "kind",
            "datatype": "singlevaluelist",
            "required": false,
            "datatype_description": "The kind of request; complaint when not given.",
            "order": 1,
            "description": "Tipo di richiesta",
            "values": values,
        }],
    });
    format::answer(format, StatusCode::OK, "service_definition", value)
}
