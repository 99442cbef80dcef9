//! The search index of the published FAQs, kept in each server copy's memory: an inverted index
//! of the stems the database's search columns hold (folded and stemmed in Rust, see `search`).
//! MariaDB's full-text search could not answer fast enough under load (see BENCHMARKS.md): every
//! common word matched thousands of texts and each query sorted them all. Here a query scores
//! only the postings of its terms, weighted by how rare they are (a match in the question counts
//! three times), in microseconds.
//!
//! Nothing another copy needs lives here: the index is rebuilt from the database whenever the
//! FAQs' generation (a counter every save increments, in the same transaction) differs from the
//! one it was built at, so every copy sees a change at its next search.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sportello_domain::Language;
use sqlx::MySqlPool;
use tokio::sync::RwLock;
use uuid::Uuid;

use crate::search;

/// One published text of a FAQ, in one language.
#[derive(Debug, Clone)]
pub struct Doc {
    pub faq_id: String,
    pub language: Language,
    pub question: String,
    pub answer: String,
}

#[derive(Debug, Default)]
pub struct Index {
    generation: i64,
    docs: Vec<Doc>,
    /// Stem → (document, weight): 3 for a stem of the question, 1 of the answer (the larger
    /// when a stem is in both).
    postings: BTreeMap<String, Vec<(u32, u8)>>,
    /// FAQ ids with a text in each language, for the fallback to the other language.
    languages: HashMap<String, Vec<Language>>,
}

/// The shared, lazily rebuilt index of one server copy.
#[derive(Clone, Default)]
pub struct SharedIndex(Arc<RwLock<Option<Arc<Index>>>>);

/// The FAQs' generation: incremented by every save, read on every search (one primary-key read).
pub async fn generation(pool: &MySqlPool) -> Result<i64, sqlx::Error> {
    let value: Option<String> =
        sqlx::query_scalar("SELECT value FROM settings WHERE name = 'faq_generation'")
            .fetch_optional(pool)
            .await?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Marks the FAQs changed (inside the transaction that changes them).
pub async fn bump(conn: &mut sqlx::MySqlConnection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO settings (name, value) VALUES ('faq_generation', '1')
         ON DUPLICATE KEY UPDATE value = CAST(value AS UNSIGNED) + 1",
    )
    .execute(conn)
    .await?;
    Ok(())
}

impl SharedIndex {
    /// The index as of the database's current generation.
    pub async fn current(
        &self,
        pool: &MySqlPool,
        organisation_id: Uuid,
    ) -> Result<Arc<Index>, sqlx::Error> {
        let generation = generation(pool).await?;
        if let Some(index) = self.0.read().await.as_ref() {
            if index.generation == generation {
                return Ok(index.clone());
            }
        }
        let mut slot = self.0.write().await;
        if let Some(index) = slot.as_ref() {
            if index.generation == generation {
                return Ok(index.clone());
            }
        }
        let index = Arc::new(Index::load(pool, organisation_id, generation).await?);
        *slot = Some(index.clone());
        Ok(index)
    }
}

impl Index {
    async fn load(
        pool: &MySqlPool,
        organisation_id: Uuid,
        generation: i64,
    ) -> Result<Index, sqlx::Error> {
        let rows: Vec<(String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT faq_id, language, question, answer, search_question, search_answer
               FROM faq_texts WHERE organisation_id = ? AND published ORDER BY faq_id, language",
        )
        .bind(organisation_id.to_string())
        .fetch_all(pool)
        .await?;
        let mut index = Index {
            generation,
            ..Index::default()
        };
        for (faq_id, language, question, answer, search_question, search_answer) in rows {
            let language = Language::parse(&language).unwrap_or(Language::It);
            let doc = index.docs.len() as u32;
            let mut weights: HashMap<&str, u8> = HashMap::new();
            for stem in search_answer.split_whitespace() {
                weights.entry(stem).or_insert(1);
            }
            for stem in search_question.split_whitespace() {
                weights.insert(stem, 3);
            }
            for (stem, weight) in weights {
                index
                    .postings
                    .entry(stem.to_string())
                    .or_default()
                    .push((doc, weight));
            }
            index
                .languages
                .entry(faq_id.clone())
                .or_default()
                .push(language);
            index.docs.push(Doc {
                faq_id,
                language,
                question,
                answer: crate::web::markup::plain(&answer),
            });
        }
        Ok(index)
    }

    /// The best `limit` texts for `query` in the reader's `language` (or in the other language
    /// for FAQs written only in that one), best first.
    pub fn search(&self, language: Language, query: &str, limit: usize) -> Vec<(&Doc, f64)> {
        let other = match language {
            Language::It => Language::En,
            Language::En => Language::It,
        };
        let total = self.docs.len().max(1) as f64;
        let mut scores: HashMap<u32, f64> = HashMap::new();
        for lang in [language, other] {
            for prefix in search::query_prefixes(lang, query) {
                // Every indexed stem that starts with the query word's prefix.
                let matched: Vec<&(u32, u8)> = self
                    .postings
                    .range(prefix.clone()..)
                    .take_while(|(stem, _)| stem.starts_with(prefix.as_str()))
                    .flat_map(|(_, postings)| postings.iter())
                    .filter(|(doc, _)| self.docs[*doc as usize].language == lang)
                    .collect();
                if matched.is_empty() {
                    continue;
                }
                // Rarer words weigh more (inverse document frequency).
                let idf = (1.0 + total / matched.len() as f64).ln();
                let mut best: HashMap<u32, u8> = HashMap::new();
                for (doc, weight) in matched {
                    let entry = best.entry(*doc).or_insert(0);
                    *entry = (*entry).max(*weight);
                }
                for (doc, weight) in best {
                    *scores.entry(doc).or_insert(0.0) += idf * f64::from(weight);
                }
            }
        }
        let mut ranked: Vec<(&Doc, f64)> = scores
            .into_iter()
            .map(|(doc, score)| (&self.docs[doc as usize], score))
            .filter(|(doc, _)| {
                // The reader's language, or the other when the FAQ has no text in theirs.
                doc.language == language
                    || !self
                        .languages
                        .get(&doc.faq_id)
                        .is_some_and(|l| l.contains(&language))
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.1.partial_cmp(&a.1)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.0.faq_id.cmp(&b.0.faq_id))
        });
        ranked.truncate(limit);
        ranked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(docs: &[(&str, Language, &str, &str)]) -> Index {
        let mut index = Index::default();
        for (id, language, question, answer) in docs {
            let doc = index.docs.len() as u32;
            let mut weights: HashMap<String, u8> = HashMap::new();
            for stem in search::stems(*language, answer) {
                weights.entry(stem).or_insert(1);
            }
            for stem in search::stems(*language, question) {
                weights.insert(stem, 3);
            }
            for (stem, weight) in weights {
                index.postings.entry(stem).or_default().push((doc, weight));
            }
            index
                .languages
                .entry(id.to_string())
                .or_default()
                .push(*language);
            index.docs.push(Doc {
                faq_id: id.to_string(),
                language: *language,
                question: question.to_string(),
                answer: answer.to_string(),
            });
        }
        index
    }

    fn ids(found: Vec<(&Doc, f64)>) -> Vec<String> {
        found.into_iter().map(|(d, _)| d.faq_id.clone()).collect()
    }

    #[test]
    fn a_question_match_ranks_above_an_answer_match_and_rare_words_weigh_more() {
        let index = index(&[
            (
                "a",
                Language::It,
                "Orari degli uffici",
                "Per il passaporto vai in Questura.",
            ),
            (
                "b",
                Language::It,
                "Come chiedo il passaporto?",
                "In Questura.",
            ),
            (
                "c",
                Language::It,
                "Uffici comunali",
                "Gli uffici del Comune.",
            ),
        ]);
        assert_eq!(
            ids(index.search(Language::It, "passaporti", 10)),
            ["b", "a"]
        );
        // More of the query's words beat one word in the question.
        assert_eq!(
            ids(index.search(Language::It, "passaporto uffici", 10))[0],
            "a"
        );
    }

    #[test]
    fn a_text_in_the_other_language_shows_only_when_there_is_none_in_mine() {
        let index = index(&[
            (
                "a",
                Language::It,
                "Carta d'identità",
                "Si rinnova in anagrafe.",
            ),
            (
                "a",
                Language::En,
                "Identity card",
                "Renew it at the registry.",
            ),
            ("b", Language::It, "Rinnovo del passaporto", "In Questura."),
        ]);
        let found = index.search(Language::En, "rinnovo", 10);
        assert_eq!(
            ids(found),
            ["b"],
            "b has no English text; a's Italian one is not shown"
        );
    }
}
