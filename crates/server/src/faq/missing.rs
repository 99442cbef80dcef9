//! What recent requests ask that no FAQ answers yet: the topics and words to write about.

use crate::state::Desk;
use axum::response::Response;
use chrono::Duration;
use minijinja::context;
use serde::Serialize;
use sportello_domain::Language;

use std::collections::HashMap;

use crate::directory::active_topics;
use crate::search;
use crate::staff::Urp;
use crate::web::Result;

#[derive(Serialize)]
struct TopicGap {
    topic: String,
    requests: i64,
    faqs: i64,
}

/// What recent requests ask that no published FAQ answers: topics with many requests and few
/// FAQs, and the frequent words of recent subjects that no published FAQ contains.
pub async fn missing(Desk { app, language }: Desk, Urp(signed_in): Urp) -> Result<Response> {
    let since = app.clock.now() - Duration::days(90);
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT q.topic_code, COUNT(*) AS requests,
                (SELECT COUNT(*) FROM faqs f WHERE f.organisation_id = q.organisation_id
                    AND f.topic_code = q.topic_code AND f.published) AS faqs
           FROM queue_requests q WHERE q.organisation_id = ? AND q.received_at >= ?
          GROUP BY q.topic_code ORDER BY requests DESC",
    )
    .bind(app.organisation_id.to_string())
    .bind(since)
    .fetch_all(&app.pool)
    .await?;
    let topics = active_topics(&app.pool, app.organisation_id).await?;
    let gaps: Vec<TopicGap> = rows
        .into_iter()
        .map(|(code, requests, faqs)| TopicGap {
            topic: crate::directory::topic_name(&topics, &code, language),
            requests,
            faqs,
        })
        .collect();
    let subjects: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT subject FROM queue_requests WHERE organisation_id = ? AND received_at >= ?
          ORDER BY received_at DESC LIMIT 2000",
    )
    .bind(app.organisation_id.to_string())
    .bind(since)
    .fetch_all(&app.pool)
    .await?;
    let covered: Vec<String> = sqlx::query_scalar(
        "SELECT CONCAT(search_question, ' ', search_answer) FROM faq_texts WHERE organisation_id = ? AND published AND language = 'it'",
    )
    .bind(app.organisation_id.to_string())
    .fetch_all(&app.pool)
    .await?;
    let covered: std::collections::HashSet<String> = covered
        .iter()
        .flat_map(|t| t.split(' ').map(str::to_string))
        .collect();
    // Count stems of subjects; show each with a word as citizens wrote it.
    let mut counts: HashMap<String, (i64, String)> = HashMap::new();
    for subject in subjects.into_iter().flatten() {
        let mut seen = std::collections::HashSet::new();
        for word in search::words(&subject) {
            let stems = search::stems(Language::It, &word);
            let Some(stem) = stems.first() else { continue };
            if word.chars().count() < 4 || covered.contains(stem) || !seen.insert(stem.clone()) {
                continue;
            }
            counts.entry(stem.clone()).or_insert((0, word.clone())).0 += 1;
        }
    }
    let mut words: Vec<(String, i64)> = counts
        .into_values()
        .map(|(n, word)| (word, n))
        .filter(|(_, n)| *n >= 2)
        .collect();
    words.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    words.truncate(30);
    let view = crate::web::View::new(
        "faq/staff_missing.html",
        "/ufficio/faq/mancanti",
        "faq.staff.missing",
    )
    .with(context! { staff => signed_in.bar(), gaps, words });
    app.render(language, view)
}
