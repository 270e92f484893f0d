//! The `kb_learned` table: knowledge entries learned from agents' `#kb` internal notes, kept
//! here so they survive restarts. Stores and fetches only; finding the notes is
//! `responder::learn`'s job.

use jiff::Timestamp;

use super::error::Ctx;
use super::{Cell, Ledger, LedgerError, checked_rows, delete_unkept, in_write_tx, to_i64};

/// One learned entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedRow {
    /// `note:<message id>`.
    pub id: String,
    pub ticket_id: u64,
    pub message_id: u64,
    pub question: String,
    pub answer: String,
    /// When the entry was first stored or last changed.
    pub updated_at: Timestamp,
}

impl Ledger {
    /// Makes the ticket's learned entries exactly `entries` (their `updated_at` is ignored):
    /// inserts new ones, updates changed ones (stamped `now`), deletes the ticket's entries not
    /// in the list (a deleted or un-prefixed note). One transaction. Returns whether anything
    /// changed, so the caller rebuilds its index only then.
    pub async fn sync_learned(
        &self,
        ticket_id: u64,
        entries: Vec<LearnedRow>,
        now: Timestamp,
    ) -> Result<bool, LedgerError> {
        let what = format!("sync learned kb entries of ticket {ticket_id}");
        let tid = to_i64(&what, ticket_id)?;
        let mut rows = Vec::with_capacity(entries.len());
        for e in entries {
            let mid = to_i64(&what, e.message_id)?;
            // The question is a customer's text: an excerpt is plenty to match on.
            let question = super::excerpt(&e.question, super::EXCERPT_BYTES).into_owned();
            rows.push((e.id, mid, question, e.answer));
        }
        let now = now.as_microsecond();
        self.call(move |c| {
            in_write_tx(c, &what, |tx| {
                let mut changed = 0;
                for (id, mid, question, answer) in &rows {
                    changed += tx
                        .execute(
                            "INSERT INTO kb_learned \
                             (id, ticket_id, message_id, question, answer, updated_at) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                             ON CONFLICT(id) DO UPDATE SET ticket_id = excluded.ticket_id, \
                             message_id = excluded.message_id, question = excluded.question, \
                             answer = excluded.answer, updated_at = excluded.updated_at \
                             WHERE kb_learned.question IS NOT excluded.question \
                             OR kb_learned.answer IS NOT excluded.answer \
                             OR kb_learned.ticket_id IS NOT excluded.ticket_id",
                            rusqlite::params![id, tid, mid, question, answer, now],
                        )
                        .ctx(&what)?;
                }
                let keep: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
                changed += delete_unkept(tx, &what, "kb_learned", "ticket_id", &tid, "id", &keep)?;
                Ok(changed > 0)
            })
        })
        .await
    }

    /// Every learned entry, oldest message first.
    pub async fn learned(&self) -> Result<Vec<LearnedRow>, LedgerError> {
        self.call(|c| {
            checked_rows(
                c,
                "list learned kb entries",
                "SELECT id, ticket_id, message_id, question, answer, updated_at \
                 FROM kb_learned ORDER BY message_id, id",
                |(id, tid, mid, question, answer, at): (String, i64, i64, String, String, i64)| {
                    let cell = Cell::new("kb_learned", id.clone());
                    Ok(LearnedRow {
                        ticket_id: cell.u64("ticket_id", Some(tid))?.unwrap_or_default(),
                        message_id: cell.u64("message_id", Some(mid))?.unwrap_or_default(),
                        updated_at: cell.ts_req("updated_at", at)?,
                        id,
                        question,
                        answer,
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

    fn row(mid: u64, answer: &str) -> LearnedRow {
        LearnedRow {
            id: format!("note:{mid}"),
            ticket_id: 5,
            message_id: mid,
            question: "q?".into(),
            answer: answer.into(),
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[tokio::test]
    async fn sync_inserts_updates_and_deletes_a_tickets_entries() {
        let ledger = Ledger::open_in_memory().await.unwrap();
        let t1 = Timestamp::from_second(100).unwrap();
        let t2 = Timestamp::from_second(200).unwrap();
        assert!(
            ledger
                .sync_learned(5, vec![row(1, "a"), row(2, "b")], t1)
                .await
                .unwrap()
        );
        // The same notes again: nothing changes, nothing is re-stamped.
        assert!(
            !ledger
                .sync_learned(5, vec![row(1, "a"), row(2, "b")], t2)
                .await
                .unwrap()
        );
        // Note 1 edited, note 2 deleted.
        assert!(
            ledger
                .sync_learned(5, vec![row(1, "a2")], t2)
                .await
                .unwrap()
        );
        let all = ledger.learned().await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].answer, "a2");
        assert_eq!(all[0].updated_at, t2);
        // Another ticket's sync leaves this one's entries alone.
        assert!(!ledger.sync_learned(6, vec![], t2).await.unwrap());
        assert_eq!(ledger.learned().await.unwrap().len(), 1);
    }
}
