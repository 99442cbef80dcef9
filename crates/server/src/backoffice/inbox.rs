//! The inbox: the operators' queue with its filters, sorting, pagination and counts per status.
//! Referents see only their departments' requests.

use crate::state::Desk;
use crate::web::form::Choice;
use std::collections::HashMap;

use axum::extract::Query;
use axum::response::{Html, IntoResponse};
use chrono::NaiveDate;
use minijinja::context;
use serde::{Deserialize, Serialize};
use sportello_domain::{rome_date, Channel, Kind, Language, Status};
use sportello_projections::queue::{self, InboxFilter, InboxSort};

use crate::directory;
use crate::directory::active_topics;
use crate::staff::SignedIn;
use crate::staff::StaffBar;
use crate::web::{i18n, Page, Result};

pub const PER_PAGE: u32 = 50;

/// The filters as typed (kept as strings, shown again as typed).
#[derive(Debug, Default, Deserialize, Serialize, Clone)]
pub struct InboxQuery {
    #[serde(default)]
    stato: String,
    #[serde(default)]
    tipo: String,
    #[serde(default)]
    argomento: String,
    #[serde(default)]
    ufficio: String,
    #[serde(default)]
    canale: String,
    #[serde(default)]
    dal: String,
    #[serde(default)]
    al: String,
    #[serde(default)]
    scadute: String,
    #[serde(default)]
    senza_presa: String,
    #[serde(default)]
    mie: String,
    #[serde(default)]
    da_protocollare: String,
    #[serde(default)]
    cerca: String,
    #[serde(default)]
    ordine: String,
    #[serde(default)]
    pagina: String,
}

impl InboxQuery {
    /// The query string for the same filters on another page.
    fn with_page(&self, page: u32) -> String {
        let pairs = [
            ("stato", &self.stato),
            ("tipo", &self.tipo),
            ("argomento", &self.argomento),
            ("ufficio", &self.ufficio),
            ("canale", &self.canale),
            ("dal", &self.dal),
            ("al", &self.al),
            ("scadute", &self.scadute),
            ("senza_presa", &self.senza_presa),
            ("mie", &self.mie),
            ("da_protocollare", &self.da_protocollare),
            ("cerca", &self.cerca),
            ("ordine", &self.ordine),
        ];
        let page = page.to_string();
        let mut all = pairs.to_vec();
        all.push(("pagina", &page));
        crate::web::query_string(&all)
    }
}

fn some(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

#[derive(Serialize)]
struct Row {
    id: String,
    reference: String,
    received: String,
    kind: String,
    topic: String,
    subject: String,
    citizen: String,
    status: String,
    department: String,
    due: String,
    overdue: bool,
    reminders: i32,
    ack_failed: bool,
    mail_failed: bool,
    /// How it came, when not by the web form.
    channel: Option<String>,
}

pub async fn inbox(
    Desk { app, language }: Desk,
    signed_in: SignedIn,
    Query(query): Query<InboxQuery>,
) -> Result<axum::response::Response> {
    let staff = &signed_in.staff;
    // The counter's staff work from the front office's pages.
    if !staff.may_use_back_office() && !staff.has(crate::staff::Role::Administrator) {
        return Ok(axum::response::IntoResponse::into_response(
            axum::response::Redirect::to("/ufficio"),
        ));
    }
    let now = app.clock.now();
    let today = rome_date(now);
    let mut errors: Vec<String> = Vec::new();
    let mut date = |text: &str, key: &str| -> Option<NaiveDate> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let parsed = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
        if parsed.is_none() {
            errors.push(i18n::text(language, key, &[]));
        }
        parsed
    };
    let reminder_days = app.settings().await?.reminder_days;
    let received_from = date(&query.dal, "inbox.error.from");
    let received_to = date(&query.al, "inbox.error.to");
    let page_number = query.pagina.parse::<u32>().unwrap_or(1).max(1);
    let filter = InboxFilter {
        organisation_id: app.organisation_id.to_string(),
        departments: (!staff.is_urp())
            .then(|| staff.departments.iter().map(|d| d.to_string()).collect()),
        status: some(&query.stato).filter(|s| Status::parse(s).is_some()),
        kind: some(&query.tipo).filter(|k| Kind::parse(k).is_some()),
        topic: some(&query.argomento),
        department: some(&query.ufficio),
        channel: some(&query.canale),
        received_from,
        received_to,
        overdue_on: (query.scadute == "1").then_some(today),
        waiting_since: (query.senza_presa == "1")
            .then(|| now - chrono::Duration::days(i64::from(reminder_days))),
        taken_by: (query.mie == "1").then(|| staff.id.to_string()),
        unprotocolled: query.da_protocollare == "1",
        text: some(&query.cerca),
        sort: match query.ordine.as_str() {
            "meno-recenti" => InboxSort::Oldest,
            "scadenza" => InboxSort::DueFirst,
            _ => InboxSort::Newest,
        },
        page: page_number,
        per_page: PER_PAGE,
        after: None,
    };
    let result = queue::inbox(&app.pool, &filter).await?;
    let topics = active_topics(&app.pool, app.organisation_id).await?;
    let topic_names: HashMap<String, String> = topics
        .iter()
        .map(|t| {
            (
                t.code.clone(),
                if language == Language::En {
                    t.name_en.clone()
                } else {
                    t.name_it.clone()
                },
            )
        })
        .collect();
    let departments = directory::departments(&app.pool, app.organisation_id).await?;
    let department_names: HashMap<String, String> = departments
        .iter()
        .map(|d| (d.id.to_string(), d.name.clone()))
        .collect();
    let rows: Vec<Row> = result
        .rows
        .into_iter()
        .map(|row| {
            let open = Status::parse(&row.status).is_some_and(Status::awaits_answer);
            Row {
                reference: row.reference,
                received: i18n::date_time(language, row.received_at),
                kind: i18n::text(language, &format!("kind.{}", row.kind), &[]),
                topic: topic_names
                    .get(&row.topic_code)
                    .cloned()
                    .unwrap_or(row.topic_code),
                subject: row.subject.unwrap_or_default(),
                citizen: row.citizen_name.unwrap_or_default(),
                status: i18n::text(language, &format!("staff_status.{}", row.status), &[]),
                department: row
                    .department_id
                    .and_then(|d| department_names.get(&d).cloned())
                    .unwrap_or_default(),
                due: i18n::long_date(language, row.answer_due),
                overdue: open && row.answer_due < today,
                reminders: row.reminders,
                ack_failed: row.ack_failed,
                mail_failed: row.mail_failed,
                channel: (row.channel != "web")
                    .then(|| i18n::text(language, &format!("channel.{}", row.channel), &[])),
                id: row.aggregate_id,
            }
        })
        .collect();
    let counts: Vec<Choice> = Status::ALL[1..]
        .iter()
        .map(|status| {
            let name = i18n::text(language, &format!("staff_status.{}", status.code()), &[]);
            let count = result
                .counts
                .iter()
                .find(|(s, _)| s == status.code())
                .map(|(_, n)| *n)
                .unwrap_or(0);
            Choice {
                value: status.code().to_string(),
                // A search with more matches than are counted shows the statuses without counts.
                label: if result.counted {
                    format!("{name} ({count})")
                } else {
                    name
                },
            }
        })
        .collect();
    let kinds: Vec<Choice> = Kind::ALL
        .iter()
        .map(|k| Choice {
            value: k.code().into(),
            label: i18n::text(language, &format!("kind.{}", k.code()), &[]),
        })
        .collect();
    let channels: Vec<Choice> = Channel::ALL
        .iter()
        .map(|c| Choice {
            value: c.code().into(),
            label: i18n::text(language, &format!("channel.{}", c.code()), &[]),
        })
        .collect();
    let topics: Vec<Choice> = topics
        .into_iter()
        .map(|t| Choice {
            label: if language == Language::En {
                t.name_en
            } else {
                t.name_it
            },
            value: t.code,
        })
        .collect();
    let departments: Vec<Choice> = departments
        .into_iter()
        .filter(|d| staff.is_urp() || staff.departments.contains(&d.id))
        .map(|d| Choice {
            value: d.id.to_string(),
            label: d.name,
        })
        .collect();
    let pages = ((result.total as u32).div_ceil(PER_PAGE)).max(1);
    // Beyond the counted matches there are more pages than the count says.
    let more = result.capped && rows.len() as u32 == PER_PAGE;
    // The URP is told when mail waits in quarantine (one indexed count).
    let quarantined: i64 = if staff.is_urp() {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM mail_quarantine WHERE organisation_id = ? AND status = 'waiting'",
        )
        .bind(app.organisation_id.to_string())
        .fetch_one(&app.pool)
        .await?
    } else {
        0
    };
    let page = Page::new(
        language,
        "/ufficio/richieste",
        &app.organisation_name,
        "inbox.title",
    );
    let body = app.templates.render(
        "backoffice/inbox.html",
        context! {
            lang => page.lang, page, staff => StaffBar::new(staff, &signed_in.csrf_token),
            query, rows, counts, kinds, channels, topics, departments, errors, quarantined,
            total => result.total, capped => result.capped, page_number, pages,
            partial => result.partial, examined => sportello_projections::queue::EXAMINED,
            previous => (page_number > 1).then(|| query.with_page(page_number - 1)),
            next => (page_number < pages || more).then(|| query.with_page(page_number + 1)),
        },
    )?;
    Ok(Html(body).into_response())
}
