//! The `kb_sourced` and `kb_sources` tables: the knowledge entries last read from the shop's own
//! sources (Gorgias macros, help-centre pages) and each source's last refresh. Stores and
//! fetches only; reading the sources is `crate::sources`' job.

use jiff::Timestamp;

use super::error::Ctx;
use super::{Cell, Ledger, LedgerError, all_rows, checked_rows, delete_unkept, in_write_tx};

/// One entry read from a source, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcedRow {
    /// `macro:ID` or `site:URL#heading`: the entry id and where it came from.
    pub entry_id: String,
    /// The source's name (`macros`, or `site:<configured URL>`).
    pub source: String,
    pub question: String,
    pub answer: String,
    pub language: Option<String>,
    /// When the entry's text was last read (fetched, or confirmed unchanged).
    pub read_at: Timestamp,
}

/// One source's last refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStatusRow {
    pub name: String,
    pub last_attempt: Option<Timestamp>,
    /// The last refresh that succeeded (its entries replaced the previous ones).
    pub last_ok: Option<Timestamp>,
    /// The error of the last refresh, `None` once one succeeds again.
    pub last_error: Option<String>,
    /// Entries in use from this source.
    pub entries: u64,
}

/// A `kb_sourced` row as read: entry id, source, question, answer, language, read at.
type SourcedTuple = (String, String, String, String, Option<String>, i64);

/// A `kb_sources` row as read: name, last attempt, last ok, last error, entries.
type StatusTuple = (String, Option<i64>, Option<i64>, Option<String>, i64);

impl Ledger {
    /// Makes the entries of `source` exactly `rows` (one transaction). Returns whether any
    /// question, answer or language changed (a new `read_at` alone is not a change).
    pub async fn replace_sourced(
        &self,
        source: &str,
        rows: Vec<SourcedRow>,
    ) -> Result<bool, LedgerError> {
        let what = format!("store the knowledge entries of {source}");
        let source = source.to_owned();
        self.call(move |c| {
            in_write_tx(c, &what, |tx| {
                let mut changed = 0;
                for r in &rows {
                    let before: Option<(String, String, Option<String>)> = tx
                        .query_row(
                            "SELECT question, answer, language FROM kb_sourced \
                             WHERE source = ?1 AND entry_id = ?2",
                            [&source, &r.entry_id],
                            |x| Ok((x.get(0)?, x.get(1)?, x.get(2)?)),
                        )
                        .map(Some)
                        .or_else(|e| match e {
                            rusqlite::Error::QueryReturnedNoRows => Ok(None),
                            e => Err(e),
                        })
                        .ctx(&what)?;
                    if before.as_ref()
                        != Some(&(r.question.clone(), r.answer.clone(), r.language.clone()))
                    {
                        changed += 1;
                    }
                    tx.execute(
                        "INSERT INTO kb_sourced (entry_id, source, question, answer, language, read_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                         ON CONFLICT(source, entry_id) DO UPDATE SET \
                         question = excluded.question, answer = excluded.answer, \
                         language = excluded.language, read_at = excluded.read_at",
                        rusqlite::params![
                            r.entry_id,
                            source,
                            r.question,
                            r.answer,
                            r.language,
                            r.read_at.as_microsecond()
                        ],
                    )
                    .ctx(&what)?;
                }
                let keep: Vec<&str> = rows.iter().map(|r| r.entry_id.as_str()).collect();
                changed += delete_unkept(tx, &what, "kb_sourced", "source", &source, "entry_id", &keep)?;
                Ok(changed > 0)
            })
        })
        .await
    }

    /// Every stored sourced entry, by source then entry id.
    pub async fn sourced(&self) -> Result<Vec<SourcedRow>, LedgerError> {
        self.call(|c| {
            checked_rows(
                c,
                "list sourced kb entries",
                "SELECT entry_id, source, question, answer, language, read_at \
                 FROM kb_sourced ORDER BY source, entry_id",
                |(entry_id, source, question, answer, language, at): SourcedTuple| {
                    let cell = Cell::new("kb_sourced", entry_id.clone());
                    Ok(SourcedRow {
                        read_at: cell.ts_req("read_at", at)?,
                        entry_id,
                        source,
                        question,
                        answer,
                        language,
                    })
                },
            )
        })
        .await
    }

    /// Records one source's refresh: `Ok(entries)` or `Err(error)` at `at`. A failure keeps
    /// the last success's time and entry count.
    pub async fn record_source_refresh(
        &self,
        name: &str,
        at: Timestamp,
        outcome: Result<u64, String>,
    ) -> Result<(), LedgerError> {
        let what = format!("record the refresh of knowledge source {name}");
        let name = name.to_owned();
        let at = at.as_microsecond();
        self.call(move |c| {
            in_write_tx(c, &what, |tx| {
                match &outcome {
                    Ok(n) => tx.execute(
                        "INSERT INTO kb_sources (name, last_attempt, last_ok, last_error, entries) \
                         VALUES (?1, ?2, ?2, NULL, ?3) ON CONFLICT(name) DO UPDATE SET \
                         last_attempt = ?2, last_ok = ?2, last_error = NULL, entries = ?3",
                        rusqlite::params![name, at, i64::try_from(*n).unwrap_or(i64::MAX)],
                    ),
                    Err(e) => tx.execute(
                        "INSERT INTO kb_sources (name, last_attempt, last_error) VALUES (?1, ?2, ?3) \
                         ON CONFLICT(name) DO UPDATE SET last_attempt = ?2, last_error = ?3",
                        rusqlite::params![name, at, e],
                    ),
                }
                .ctx(&what)?;
                Ok(())
            })
        })
        .await
    }

    /// Forgets the sources not in `keep` and their entries (a source removed from the config).
    pub async fn forget_sources_except(&self, keep: Vec<String>) -> Result<bool, LedgerError> {
        let what = "forget knowledge sources no longer configured";
        self.call(move |c| {
            in_write_tx(c, what, |tx| {
                let mut stmt = tx
                    .prepare(
                        "SELECT DISTINCT source FROM kb_sourced UNION SELECT name FROM kb_sources",
                    )
                    .ctx(what)?;
                let names: Vec<String> = all_rows(&mut stmt, what, |r| r.get(0))?;
                let mut changed = 0;
                for n in names.iter().filter(|n| !keep.contains(n)) {
                    changed += tx
                        .execute("DELETE FROM kb_sourced WHERE source = ?1", [n])
                        .ctx(what)?;
                    tx.execute("DELETE FROM kb_sources WHERE name = ?1", [n])
                        .ctx(what)?;
                }
                Ok(changed > 0)
            })
        })
        .await
    }

    /// Every source's last refresh, by name.
    pub async fn source_statuses(&self) -> Result<Vec<SourceStatusRow>, LedgerError> {
        self.call(|c| {
            checked_rows(
                c,
                "list knowledge sources",
                "SELECT name, last_attempt, last_ok, last_error, entries FROM kb_sources \
                 ORDER BY name",
                |(name, attempt, ok, error, entries): StatusTuple| {
                    let cell = Cell::new("kb_sources", name.clone());
                    Ok(SourceStatusRow {
                        last_attempt: cell.ts("last_attempt", attempt)?,
                        last_ok: cell.ts("last_ok", ok)?,
                        last_error: error,
                        entries: cell.u64("entries", Some(entries))?.unwrap_or_default(),
                        name,
                    })
                },
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, answer: &str, at: i64) -> SourcedRow {
        SourcedRow {
            entry_id: id.into(),
            source: "macros".into(),
            question: "q?".into(),
            answer: answer.into(),
            language: None,
            read_at: Timestamp::from_second(at).unwrap(),
        }
    }

    #[tokio::test]
    async fn replace_sourced_reports_changes_and_keeps_other_sources() {
        let ledger = Ledger::open_in_memory().await.unwrap();
        assert!(
            ledger
                .replace_sourced(
                    "macros",
                    vec![row("macro:1", "a", 1), row("macro:2", "b", 1)]
                )
                .await
                .unwrap()
        );
        // Same text, read again later: not a change, but the read time moves.
        assert!(
            !ledger
                .replace_sourced(
                    "macros",
                    vec![row("macro:1", "a", 2), row("macro:2", "b", 2)]
                )
                .await
                .unwrap()
        );
        let mut other = row("site:x#a", "c", 1);
        other.source = "site:x".into();
        ledger.replace_sourced("site:x", vec![other]).await.unwrap();
        // Macro 2 gone (archived or deleted): a change; the site is untouched.
        assert!(
            ledger
                .replace_sourced("macros", vec![row("macro:1", "a", 3)])
                .await
                .unwrap()
        );
        let all = ledger.sourced().await.unwrap();
        let ids: Vec<&str> = all.iter().map(|r| r.entry_id.as_str()).collect();
        assert_eq!(ids, ["macro:1", "site:x#a"]);
        assert_eq!(all[0].read_at, Timestamp::from_second(3).unwrap());

        assert!(
            ledger
                .forget_sources_except(vec!["macros".into()])
                .await
                .unwrap()
        );
        assert_eq!(ledger.sourced().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_the_last_success() {
        let ledger = Ledger::open_in_memory().await.unwrap();
        let t = |s| Timestamp::from_second(s).unwrap();
        ledger
            .record_source_refresh("macros", t(1), Ok(3))
            .await
            .unwrap();
        ledger
            .record_source_refresh("macros", t(2), Err("boom".into()))
            .await
            .unwrap();
        let s = &ledger.source_statuses().await.unwrap()[0];
        assert_eq!(s.last_ok, Some(t(1)));
        assert_eq!(s.last_attempt, Some(t(2)));
        assert_eq!(s.last_error.as_deref(), Some("boom"));
        assert_eq!(s.entries, 3);
        ledger
            .record_source_refresh("macros", t(3), Ok(4))
            .await
            .unwrap();
        let s = &ledger.source_statuses().await.unwrap()[0];
        assert_eq!((s.last_error.clone(), s.entries), (None, 4));
    }
}
