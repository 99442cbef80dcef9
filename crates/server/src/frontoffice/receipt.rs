//! The receipt handed to the citizen at the counter: reference, date, summary, answer deadline
//! and how to follow the request (the private link and its QR code, or the citizen's area). A
//! print-friendly page and a PDF. The tracking token is kept sealed under the request's key, so
//! it can be printed again and disappears with an erasure.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use sportello_projections::citizen_status::{self, TrackedRequest};

use super::{desk, qr};
use crate::pdf;
use crate::staff::SignedIn;
use crate::state::AppState;
use crate::web::{i18n, AppError, Result, View};

/// A request of this organisation, as its citizen sees it (the counter shows them the same).
pub(super) async fn tracked(
    app: &AppState,
    signed_in: &SignedIn,
    id: &str,
) -> Result<TrackedRequest> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(AppError::NotFound);
    }
    let events = crate::event_store::recorded(&app.pool, id)
        .await
        .map_err(AppError::internal)?;
    match events.first().map(|r| &r.event) {
        Some(sportello_domain::RequestEvent::RequestReceived {
            organisation_id, ..
        }) if *organisation_id == signed_in.staff.organisation_id => {}
        _ => return Err(AppError::NotFound),
    }
    if sportello_projections::is_behind(&app.pool, citizen_status::NAME).await? {
        sportello_projections::catch_up(&app.pool, &citizen_status::CitizenStatus).await?;
    }
    citizen_status::request_by_id(&app.pool, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Everything a receipt says, in the page's language, with who asked for it. An extractor: the
/// page and the PDF print the same receipt, read and checked once.
pub struct Receipt {
    id: String,
    language: sportello_domain::Language,
    signed_in: SignedIn,
    reference: String,
    received: String,
    kind: String,
    topic: String,
    channel: String,
    subject: String,
    name: String,
    answer_due: String,
    link: String,
    identity_checked: bool,
    paper: bool,
}

impl FromRequestParts<AppState> for Receipt {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Receipt, Response> {
        let signed_in = SignedIn::from_request_parts(parts, app).await?;
        let language = crate::web::i18n::from_headers(&parts.headers);
        let Path(id) = Path::<String>::from_request_parts(parts, app)
            .await
            .map_err(|_| AppError::NotFound.into_response())?;
        receipt(app, language, signed_in, id)
            .await
            .map_err(IntoResponse::into_response)
    }
}

async fn receipt(
    app: &AppState,
    language: sportello_domain::Language,
    signed_in: SignedIn,
    id: String,
) -> Result<Receipt> {
    let (signed_in, id) = (&signed_in, id.as_str());
    desk(signed_in)?;
    let request = tracked(app, signed_in, id).await?;
    let sealed: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT token FROM front_office_receipts WHERE aggregate_id = ?")
            .bind(id)
            .fetch_optional(&app.pool)
            .await?;
    let sealed: sportello_domain::Sealed =
        serde_json::from_value(sealed.ok_or(AppError::NotFound)?).map_err(AppError::internal)?;
    let token = crate::personal::open_text(&app.pool, &sealed)
        .await?
        .ok_or(AppError::Gone)?;
    let personal = crate::personal::open(&app.pool, &request.personal)
        .await?
        .ok_or(AppError::Gone)?;
    let events = crate::event_store::recorded(&app.pool, id)
        .await
        .map_err(AppError::internal)?;
    let filed_by = match events.first().map(|r| &r.event) {
        Some(sportello_domain::RequestEvent::RequestReceived { filed_by, .. }) => filed_by.clone(),
        _ => Default::default(),
    };
    // The receipt holds the private link: the operator who entered the request prints it
    // again, or the URP; nobody else at the counter.
    let staff = &signed_in.staff;
    if filed_by.operator != Some(staff.id)
        && !staff.is_urp()
        && !staff.has(crate::staff::Role::Administrator)
    {
        return Err(AppError::NotFound);
    }
    super::record::log_opening(app, signed_in, id).await?;
    let topics = crate::directory::active_topics(&app.pool, app.organisation_id).await?;
    let topic = crate::directory::topic_name(&topics, &request.topic_code, language);
    Ok(Receipt {
        id: id.to_string(),
        language,
        signed_in: signed_in.clone(),
        reference: request.reference.clone(),
        received: i18n::date_time(language, request.received_at),
        kind: i18n::text(language, &format!("kind.{}", request.kind), &[]),
        topic,
        channel: i18n::text(language, &format!("channel.{}", request.channel), &[]),
        subject: personal.subject,
        name: format!("{} {}", personal.first_name, personal.last_name),
        answer_due: i18n::long_date(language, request.answer_due),
        link: format!("{}/segui/{token}", app.config.public_url),
        identity_checked: filed_by.identity_checked,
        paper: filed_by.paper_only,
    })
}

pub async fn receipt_page(State(app): State<AppState>, r: Receipt) -> Result<Response> {
    let (id, language) = (&r.id, r.language);
    let qr = qr::svg(&r.link);
    let path = format!("/ufficio/sportello/ricevute/{id}");
    let view = View::new("frontoffice/receipt.html", path, "front.receipt.title").with(context! {
        staff => r.signed_in.bar(), id,
        reference => r.reference, received => r.received, kind => r.kind, topic => r.topic,
        channel => r.channel, subject => r.subject, name => r.name, answer_due => r.answer_due,
        link => r.link, identity_checked => r.identity_checked, paper => r.paper,
        qr => qr.map(minijinja::Value::from_safe_string),
    });
    // A receipt is someone's own page: never kept by a cache.
    app.render(language, view.private())
}

pub async fn receipt_pdf(State(app): State<AppState>, r: Receipt) -> Result<Response> {
    let language = r.language;
    let t = |key: &str| i18n::text(language, key, &[]);
    let mut page = pdf::Page::new();
    let (left, width) = (56.0, 483.0);
    let mut y = 790.0;
    page.text(left, y, 11.0, false, &app.organisation_name);
    y -= 16.0;
    page.text(left, y, 11.0, false, &t("layout.footer_title"));
    y -= 34.0;
    page.text(left, y, 20.0, true, &t("front.receipt.title"));
    y -= 14.0;
    page.rule(left, y, width);
    y -= 26.0;
    for (label, value) in [
        (t("tracking.reference"), r.reference.as_str()),
        (t("tracking.received"), r.received.as_str()),
        (t("front.receipt.citizen"), r.name.as_str()),
        (t("tracking.kind"), r.kind.as_str()),
        (t("form.topic"), r.topic.as_str()),
        (t("front.receipt.channel"), r.channel.as_str()),
        (t("tracking.subject"), r.subject.as_str()),
        (t("tracking.deadline"), r.answer_due.as_str()),
    ] {
        page.text(left, y, 11.0, true, &label);
        y = page.paragraph(left + 170.0, y, 11.0, width - 170.0, value) - 4.0;
    }
    if r.identity_checked {
        page.text(left, y, 10.0, false, &t("front.receipt.identity_checked"));
        y -= 16.0;
    }
    y -= 10.0;
    page.text(left, y, 13.0, true, &t("front.receipt.follow_title"));
    y -= 20.0;
    let follow = if r.paper {
        t("front.receipt.follow_paper")
    } else {
        t("front.receipt.follow_email")
    };
    y = page.paragraph(left, y, 10.0, width, &follow);
    y = page.paragraph(left, y - 4.0, 9.0, width, &r.link) - 8.0;
    if let Some((dark, modules)) = qr::modules(&r.link) {
        let cell = 3.0;
        let top = y;
        for (index, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
            let (col, row) = ((index % modules) as f32, (index / modules) as f32);
            page.square(left + col * cell, top - (row + 1.0) * cell, cell, cell);
        }
        y = top - modules as f32 * cell - 16.0;
    }
    page.paragraph(left, y, 9.0, width, &t("front.receipt.private"));
    let bytes = page.finish(&format!("{} {}", t("front.receipt.title"), r.reference));
    let file = format!("ricevuta-{}.pdf", r.reference.replace('/', "-"));
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                crate::tracking::content_disposition(&file),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}
