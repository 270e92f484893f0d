//! Ticket rows: what the bot remembers per ticket, read and written by intent (`ticket`,
//! `tracked`, `due_closes`, ...).

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use rusqlite::{Connection, Row, params};

use super::error::Ctx;
use super::events::{NewEvent, insert_event};
use super::{
    Cell, Ledger, LedgerError, StateReason, TicketRow, TicketState, in_write_tx, json_text, opt_us,
    to_i64,
};

/// The states in which the bot still has work or a deadline on a ticket.
pub(super) const TRACKED_STATES: [TicketState; 4] = [
    TicketState::Active,
    TicketState::Answered,
    TicketState::AwaitingEmail,
    TicketState::AwaitingOrder,
];

pub(super) const TICKET_COLS: &str = "ticket_id, state, reason, last_customer_msg_id, last_customer_msg_at, \
     last_bot_reply_at, close_deadline, email_requested_at, returned_at, seen_updated_at, \
     seen_messages_count, pending_since, answers, handovers, closes, created_at, updated_at, seen_fingerprint";

impl Ledger {
    // ---- tickets ----

    /// The ledger row of one ticket, if the bot has met it.
    pub async fn ticket(&self, id: u64) -> Result<Option<TicketRow>, LedgerError> {
        let id_sql = to_i64("ticket id", id)?;
        self.call(move |c| {
            let what = format!("read ticket {id}");
            let sql = format!("SELECT {TICKET_COLS} FROM tickets WHERE ticket_id = ?1");
            let mut stmt = c.prepare_cached(&sql).ctx(&what)?;
            let mut rows = stmt.query([id_sql]).ctx(&what)?;
            match rows.next().ctx(&what)? {
                Some(r) => Ok(Some(ticket_from_row(r)?)),
                None => Ok(None),
            }
        })
        .await
    }

    /// The ledger rows of the given tickets (those the ledger has), keyed by ticket id: one
    /// query for a whole poll page.
    pub async fn tickets(&self, ids: &[u64]) -> Result<HashMap<u64, TicketRow>, LedgerError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let ids_json = json_text("ticket ids", ids)?;
        let n = ids.len();
        self.call(move |c| {
            let what = format!("read {n} tickets");
            let sql = format!(
                "SELECT {TICKET_COLS} FROM tickets \
                 WHERE ticket_id IN (SELECT value FROM json_each(?1))"
            );
            let rows = query_tickets(c, &what, &sql, [ids_json])?;
            Ok(rows.into_iter().map(|r| (r.ticket_id, r)).collect())
        })
        .await
    }

    /// Inserts or replaces a ticket's row, storing every field as given.
    pub async fn save_ticket(&self, row: &TicketRow) -> Result<(), LedgerError> {
        let row = row.clone();
        self.call(move |c| {
            let what = format!("save ticket {}", row.ticket_id);
            in_write_tx(c, &what, |tx| upsert_ticket(tx, &what, &row))
        })
        .await
    }

    /// Saves a ticket's row and appends an event, in one transaction (both or neither).
    pub async fn save_ticket_with_event(
        &self,
        row: &TicketRow,
        event: NewEvent,
    ) -> Result<(), LedgerError> {
        let row = row.clone();
        self.call(move |c| {
            let what = format!(
                "save ticket {} with event {}",
                row.ticket_id,
                event.event.kind()
            );
            in_write_tx(c, &what, |tx| {
                upsert_ticket(tx, &what, &row)?;
                insert_event(tx, &what, &event)
            })
        })
        .await
    }

    /// The rows the bot still has work or deadlines on (states active, answered,
    /// awaiting_email), by ticket id.
    pub async fn tracked(&self) -> Result<Vec<TicketRow>, LedgerError> {
        self.tickets_in_states(&TRACKED_STATES).await
    }

    /// The rows in any of the given states, by ticket id.
    pub async fn tickets_in_states(
        &self,
        states: &[TicketState],
    ) -> Result<Vec<TicketRow>, LedgerError> {
        let names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        let states_json = json_text("ticket states", &names)?;
        self.call(move |c| {
            let what = format!("read tickets in states {states_json}");
            let sql = format!(
                "SELECT {TICKET_COLS} FROM tickets \
                 WHERE state IN (SELECT value FROM json_each(?1)) ORDER BY ticket_id"
            );
            query_tickets(c, &what, &sql, [&states_json])
        })
        .await
    }

    /// The earliest close deadline over tickets in state `answered` (what the sweep sleeps
    /// until), or None when nothing waits to be closed.
    pub async fn next_deadline(&self) -> Result<Option<Timestamp>, LedgerError> {
        self.call(|c| {
            let what = "read the next close deadline";
            let us: Option<i64> = c
                .query_row(
                    "SELECT MIN(close_deadline) FROM tickets WHERE state = ?1",
                    [TicketState::Answered.as_str()],
                    |r| r.get(0),
                )
                .ctx(what)?;
            let cell = Cell::new("tickets", "MIN(close_deadline)".to_owned());
            cell.ts("close_deadline", us)
        })
        .await
    }

    /// The earliest handover deadline after `after` (the last sweep): an `awaiting_email` row's
    /// `email_requested_at + email_wait`, an `awaiting_order` row's `last_bot_reply_at +
    /// order_wait`, and a pending answer's `pending_since + answer_deadline` (the rows the
    /// daemon's sweep hands over). Deadlines a sweep already saw are left to the cron sweep: a
    /// handover that failed is retried there, not in a loop.
    pub async fn next_handover_deadline(
        &self,
        after: Timestamp,
        email_wait: jiff::SignedDuration,
        answer_deadline: jiff::SignedDuration,
        order_wait: jiff::SignedDuration,
    ) -> Result<Option<Timestamp>, LedgerError> {
        // Bounded so that adding it to any stored instant stays an integer.
        let us = |d: jiff::SignedDuration| {
            i64::try_from(d.as_micros()).map_or(i64::MAX / 4, |v| v.clamp(0, i64::MAX / 4))
        };
        let (email, answer, order) = (us(email_wait), us(answer_deadline), us(order_wait));
        let after_us = after.as_microsecond();
        self.call(move |c| {
            let what = "read the next handover deadline";
            let at: Option<i64> = c
                .query_row(
                    "SELECT MIN(at) FROM ( \
                       SELECT email_requested_at + ?1 AS at FROM tickets \
                         WHERE state = ?5 AND email_requested_at IS NOT NULL \
                       UNION ALL SELECT pending_since + ?2 FROM tickets \
                         WHERE state IN (?5, ?6, ?7) AND pending_since IS NOT NULL \
                       UNION ALL SELECT last_bot_reply_at + ?3 FROM tickets \
                         WHERE state = ?7 AND last_bot_reply_at IS NOT NULL \
                     ) WHERE at > ?4",
                    params![
                        email,
                        answer,
                        order,
                        after_us,
                        TicketState::AwaitingEmail.as_str(),
                        TicketState::Active.as_str(),
                        TicketState::AwaitingOrder.as_str(),
                    ],
                    |r| r.get(0),
                )
                .ctx(what)?;
            let cell = Cell::new("tickets", "MIN(handover deadline)".to_owned());
            cell.ts("handover deadline", at)
        })
        .await
    }

    /// Tickets in state `answered` whose close deadline is at or before `now`, earliest first.
    pub async fn due_closes(&self, now: Timestamp) -> Result<Vec<TicketRow>, LedgerError> {
        let now_us = now.as_microsecond();
        self.call(move |c| {
            let what = format!("read closes due at {now}");
            let sql = format!(
                "SELECT {TICKET_COLS} FROM tickets \
                 WHERE state = ?1 AND close_deadline <= ?2 ORDER BY close_deadline, ticket_id"
            );
            query_tickets(
                c,
                &what,
                &sql,
                params![TicketState::Answered.as_str(), now_us],
            )
        })
        .await
    }

    /// How many ticket rows are in each state; every known state is present (0 if none).
    pub async fn counts_by_state(&self) -> Result<BTreeMap<String, u64>, LedgerError> {
        self.call(|c| {
            let what = "count tickets by state";
            let mut counts: BTreeMap<String, u64> = TicketState::ALL
                .iter()
                .map(|s| (s.as_str().to_owned(), 0))
                .collect();
            let mut stmt = c
                .prepare_cached("SELECT state, COUNT(*) FROM tickets GROUP BY state")
                .ctx(what)?;
            let mut rows = stmt.query([]).ctx(what)?;
            while let Some(r) = rows.next().ctx(what)? {
                let state: String = r.get(0).ctx(what)?;
                let n: i64 = r.get(1).ctx(what)?;
                if TicketState::parse(&state).is_none() {
                    return Err(LedgerError::Corrupt {
                        detail: format!("table tickets: {n} row(s) with unknown state {state:?}"),
                    });
                }
                counts.insert(state, u64::try_from(n).unwrap_or(0));
            }
            Ok(counts)
        })
        .await
    }
}

pub(super) fn ticket_from_row(r: &Row<'_>) -> Result<TicketRow, LedgerError> {
    let what = "read a tickets row";
    let id: i64 = r.get(0).ctx(what)?;
    let cell = Cell::new("tickets", format!("ticket_id={id}"));
    let state: String = r.get(1).ctx(what)?;
    let opt = |i: usize| -> Result<Option<i64>, LedgerError> { r.get(i).ctx(what) };
    Ok(TicketRow {
        ticket_id: cell.u64("ticket_id", Some(id))?.expect("Some in, Some out"),
        state: TicketState::parse(&state)
            .ok_or_else(|| cell.corrupt("state", &state, "unknown state"))?,
        reason: {
            let stored: Option<String> = r.get(2).ctx(what)?;
            stored
                .map(|s| {
                    StateReason::parse(&s)
                        .ok_or_else(|| cell.corrupt("reason", &s, "unknown reason"))
                })
                .transpose()?
        },
        last_customer_msg_id: cell.u64("last_customer_msg_id", opt(3)?)?,
        last_customer_msg_at: cell.ts("last_customer_msg_at", opt(4)?)?,
        last_bot_reply_at: cell.ts("last_bot_reply_at", opt(5)?)?,
        close_deadline: cell.ts("close_deadline", opt(6)?)?,
        email_requested_at: cell.ts("email_requested_at", opt(7)?)?,
        returned_at: cell.ts("returned_at", opt(8)?)?,
        seen_updated_at: cell.ts("seen_updated_at", opt(9)?)?,
        seen_messages_count: cell.u64("seen_messages_count", opt(10)?)?,
        pending_since: cell.ts("pending_since", opt(11)?)?,
        answers: cell.u32("answers", r.get(12).ctx(what)?)?,
        handovers: cell.u32("handovers", r.get(13).ctx(what)?)?,
        closes: cell.u32("closes", r.get(14).ctx(what)?)?,
        created_at: cell.ts("created_at", opt(15)?)?,
        updated_at: cell.ts("updated_at", opt(16)?)?,
        seen_fingerprint: r.get(17).ctx(what)?,
    })
}

pub(super) fn query_tickets(
    c: &Connection,
    what: &str,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<TicketRow>, LedgerError> {
    super::query_rows(c, what, sql, params, ticket_from_row)
}

pub(super) fn upsert_ticket(
    c: &Connection,
    what: &str,
    row: &TicketRow,
) -> Result<(), LedgerError> {
    let id = to_i64("ticket id", row.ticket_id)?;
    let msg_id = row
        .last_customer_msg_id
        .map(|v| to_i64("last_customer_msg_id", v))
        .transpose()?;
    let seen_count = row
        .seen_messages_count
        .map(|v| to_i64("seen_messages_count", v))
        .transpose()?;
    let sql = format!(
        "INSERT INTO tickets ({TICKET_COLS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) \
         ON CONFLICT(ticket_id) DO UPDATE SET \
         state = excluded.state, reason = excluded.reason, \
         last_customer_msg_id = excluded.last_customer_msg_id, \
         last_customer_msg_at = excluded.last_customer_msg_at, \
         last_bot_reply_at = excluded.last_bot_reply_at, \
         close_deadline = excluded.close_deadline, \
         email_requested_at = excluded.email_requested_at, \
         returned_at = excluded.returned_at, seen_updated_at = excluded.seen_updated_at, \
         seen_messages_count = excluded.seen_messages_count, \
         pending_since = excluded.pending_since, answers = excluded.answers, \
         handovers = excluded.handovers, closes = excluded.closes, \
         created_at = excluded.created_at, updated_at = excluded.updated_at, \
         seen_fingerprint = excluded.seen_fingerprint"
    );
    c.prepare_cached(&sql)
        .and_then(|mut s| {
            s.execute(params![
                id,
                row.state.as_str(),
                row.reason.map(StateReason::as_str),
                msg_id,
                opt_us(row.last_customer_msg_at),
                opt_us(row.last_bot_reply_at),
                opt_us(row.close_deadline),
                opt_us(row.email_requested_at),
                opt_us(row.returned_at),
                opt_us(row.seen_updated_at),
                seen_count,
                opt_us(row.pending_since),
                row.answers,
                row.handovers,
                row.closes,
                opt_us(row.created_at),
                opt_us(row.updated_at),
                row.seen_fingerprint,
            ])
        })
        .ctx(what)?;
    Ok(())
}
