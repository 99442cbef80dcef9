//! The API for other systems (`/api/v1`, JSON): the Comune's website, its app, its GIS, the
//! protocol registry. Each client acts as itself with the scopes an administrator gave it; every
//! error is a problem document; the OpenAPI document is generated from the handlers, each route
//! registered together with its description (utoipa-axum), so the two cannot disagree.

mod auth;
mod clients;
mod directory;
mod problem;
mod requests;

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{any, get};
use axum::{middleware, Router};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, ResponseBuilder};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use clients::{
    all as all_clients, create as create_client, revoke as revoke_client, Client, NewClient, Scope,
};
pub use problem::PROBLEM_JSON;

use crate::state::AppState;

pub const DOCUMENT: &str = "/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sportello API",
        version = "1",
        description = "Requests, the directory and the event log of a Comune's citizen-relations desk. \
                       Every call carries `Authorization: Bearer <token>` of an API client created by \
                       the Comune's administrators; every error is `application/problem+json`."
    ),
    components(schemas(problem::Problem, problem::FieldProblem)),
    tags(
        (name = "requests", description = "Citizens' requests"),
        (name = "directory", description = "Topics, departments and other bodies"),
    )
)]
struct ApiDoc;

/// The API's routes and its document, under the layer that writes every error as a problem.
pub fn routes() -> Router<AppState> {
    let (router, document) = described().split_for_parts();
    let json: Arc<str> = Arc::from(finish(document).to_json().expect("the document serialises"));
    router
        .route(
            DOCUMENT,
            get(move || {
                let json = json.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        json.to_string(),
                    )
                        .into_response()
                }
            }),
        )
        // Anything else under /api is a problem document too, never the site's HTML page.
        .route("/api", any(|| async { problem::ApiError::NotFound }))
        .route(
            "/api/{*rest}",
            any(|| async { problem::ApiError::NotFound }),
        )
        .layer(middleware::from_fn(problem::problems))
}

/// The document as served: the bearer scheme, and the problems every operation may answer.
pub fn document() -> Document {
    finish(described().split_for_parts().1)
}

/// Every operation, each registered with its description: the one list of the API's routes.
fn described() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(requests::list))
        .routes(routes!(requests::one))
        .routes(routes!(directory::topics))
        .routes(routes!(directory::departments))
        .routes(routes!(directory::bodies))
}

fn finish(mut document: Document) -> Document {
    if let Some(components) = document.components.as_mut() {
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
    let common = [
        ("400", "The request could not be read"),
        ("401", "No valid token"),
        ("403", "The token lacks the scope the operation needs"),
        ("429", "Over the client's allowance; see Retry-After"),
        ("500", "Something failed on our side"),
    ];
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            for (status, description) in common {
                let response = ResponseBuilder::new()
                    .description(description)
                    .content(
                        PROBLEM_JSON,
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build();
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert(response.into());
            }
        }
    }
    document
}
