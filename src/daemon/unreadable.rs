//! Tickets Gorgias sends but the client cannot decode (a lone surrogate in a message, a
//! malformed datetime). One such ticket must never stop the others: it is remembered by id and
//! by the version the listing showed (`updated_datetime` as sent), not read again on every poll,
//! and read again only once that version changes. Once the answer deadline has passed (counted
//! from when it was first found unreadable) it is read one last time and, still unreadable,
//! handed over (tagged for a check, an internal note, released) if it is still in the bot's
//! view; otherwise it is left alone. Kept in memory: a restart reads each one once more.

use super::{Cause, Daemon, PassError, PassStats, is_shadow};
use crate::engine;
use crate::executor::ExecError;
use crate::gorgias::{GorgiasError, SkippedItem, Ticket, UserRef};
use jiff::Timestamp;
use std::collections::HashMap;

/// At most this many unreadable tickets are remembered (then the memory starts over: at worst
/// each is read once more).
const CAPACITY: usize = 10_000;

#[derive(Debug, Default)]
pub(super) struct Unreadable {
    tickets: HashMap<u64, Entry>,
    /// What the last listing showed: each listed id with its version.
    listed: HashMap<u64, Option<String>>,
    /// The listing being read, page by page.
    listing: HashMap<u64, Option<String>>,
}

#[derive(Debug)]
struct Entry {
    /// The version listed when it was found unreadable (`None`: it was not listed).
    version: Option<String>,
    since: Timestamp,
    /// Handed over (or given up on): left alone until its version changes.
    done: bool,
}

impl Unreadable {
    /// Take in this poll's listing (the whole view or its newest pages) in one go: see
    /// [`Unreadable::observe_page`].
    #[cfg(test)]
    pub(super) fn observe_listing(
        &mut self,
        listed: &[Ticket],
        skipped: &[SkippedItem],
    ) -> Vec<u64> {
        self.begin_listing();
        let worth = self.observe_page(listed, skipped);
        self.end_listing();
        worth
    }

    /// A listing starts: its pages follow ([`Unreadable::observe_page`]), then
    /// [`Unreadable::end_listing`]. A listing that fails midway is never ended: what the
    /// last whole listing showed stays.
    pub(super) fn begin_listing(&mut self) {
        self.listing = HashMap::new();
    }

    /// One page of the listing: a ticket listed with a new version is forgotten (read afresh).
    /// Returns the unreadable listed items worth one read now (new, or a new version). Only
    /// tickets in this very listing are handed over: one that left the bot's view (an agent
    /// took it) is never released by the bot.
    pub(super) fn observe_page(&mut self, listed: &[Ticket], skipped: &[SkippedItem]) -> Vec<u64> {
        let now = listed
            .iter()
            .map(|t| (t.id, t.updated_datetime.map(|u| u.to_string())))
            .chain(
                skipped
                    .iter()
                    .filter_map(|s| Some((s.id?, s.version.clone()))),
            );
        for (id, version) in now {
            if self.tickets.get(&id).is_some_and(|e| e.version != version) {
                self.tickets.remove(&id);
            }
            self.listing.insert(id, version);
        }
        skipped
            .iter()
            .filter_map(|s| s.id)
            .filter(|id| !self.tickets.contains_key(id))
            .collect()
    }

    /// The listing ended: it is now what the bot's view shows.
    pub(super) fn end_listing(&mut self) {
        self.listed = std::mem::take(&mut self.listing);
    }

    /// Known unreadable and unchanged: not to be read this poll.
    pub(super) fn skip(&self, id: u64) -> bool {
        self.tickets.contains_key(&id)
    }

    /// Remember that `id` could not be decoded; true the first time.
    fn record(&mut self, id: u64, now: Timestamp) -> bool {
        if self.tickets.contains_key(&id) {
            return false;
        }
        if self.tickets.len() >= CAPACITY {
            self.tickets.clear();
        }
        let version = self.listed.get(&id).cloned().flatten();
        self.tickets.insert(
            id,
            Entry {
                version,
                since: now,
                done: false,
            },
        );
        true
    }

    /// Listed now, not handed over yet, and unreadable for longer than `deadline`.
    fn due(&self, now: Timestamp, deadline: jiff::SignedDuration) -> Vec<u64> {
        let mut due: Vec<(Timestamp, u64)> = self
            .tickets
            .iter()
            .filter(|(id, e)| !e.done && self.listed.contains_key(id))
            .filter(|(_, e)| e.since.checked_add(deadline).is_ok_and(|at| at <= now))
            .map(|(id, e)| (e.since, *id))
            .collect();
        due.sort_unstable();
        due.into_iter().map(|(_, id)| id).collect()
    }
}

impl Daemon {
    /// `process` failed to decode the ticket: remember it (logged the first time only).
    pub(super) fn unreadable_found(&self, id: u64, error: &GorgiasError) {
        let first = self.listing().unreadable.record(id, self.clock.now());
        if first {
            tracing::warn!(
                ticket_id = id,
                error = %error,
                "ticket cannot be read; other tickets go on, and it is handed over once its answer deadline passes (logged once)"
            );
        }
    }

    /// The ids of `todo` to read this poll: known unreadable ones are left out.
    pub(super) fn without_unreadable(&self, todo: Vec<u64>) -> Vec<u64> {
        let l = self.listing();
        todo.into_iter()
            .filter(|id| !l.unreadable.skip(*id))
            .collect()
    }

    /// Hand over the unreadable tickets whose answer deadline has passed (see the module doc).
    pub(super) async fn hand_over_unreadable(
        &self,
        cancel: &tokio_util::sync::CancellationToken,
        stats: &mut PassStats,
    ) -> Result<(), PassError> {
        let now = self.clock.now();
        let due = self
            .listing()
            .unreadable
            .due(now, self.policy.answer_deadline);
        for id in due {
            if cancel.is_cancelled() {
                break;
            }
            let error = match self.client.ticket(id).await {
                Err(GorgiasError::Decode { detail, .. }) => detail,
                Ok(_) => {
                    // Readable again (edited since): decided like any other ticket.
                    self.listing().unreadable.tickets.remove(&id);
                    self.process_counted(id, Cause::Poll, stats).await?;
                    continue;
                }
                Err(GorgiasError::NotFound { .. }) => {
                    self.listing().unreadable.tickets.remove(&id);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(ticket_id = id, error = %e, "cannot check an unreadable ticket; will try again");
                    continue;
                }
            };
            let version = self
                .listing()
                .unreadable
                .tickets
                .get(&id)
                .and_then(|e| e.version.clone())
                .unwrap_or_default();
            let row = self.ledger.ticket(id).await?;
            let mut plan =
                engine::unreadable_handover(id, row.as_ref(), now, &self.policy, &version, &error);
            // What can be read of it: its messages one by one (ours among them, for the
            // executor's "did it land" checks); the rest of the ticket as the view showed it.
            let messages = self.client.messages(id).await.unwrap_or_default();
            let ticket = Ticket {
                id,
                status: "open".to_owned(),
                assignee_user: Some(UserRef {
                    id: self.bot_user_id(),
                    ..UserRef::default()
                }),
                messages,
                ..Ticket::default()
            };
            if is_shadow(&self.config) {
                plan = plan.shadowed(&self.policy.tags.preview, false);
            }
            match self.executor.execute(&ticket, &plan, now).await {
                Ok(outcomes) => {
                    if let Some(e) = self.listing().unreadable.tickets.get_mut(&id) {
                        e.done = true;
                    }
                    stats.decided += 1;
                    self.report(&ticket, &plan, &outcomes, Cause::Poll, now);
                }
                Err(e) if e.is_fatal() => return Err(PassError::Ledger(e.to_string())),
                Err(ExecError::Ledger(e)) => return Err(PassError::Ledger(e.to_string())),
                Err(e) => {
                    stats.failed += 1;
                    tracing::warn!(ticket_id = id, error = %e, "handing over an unreadable ticket failed; will try again");
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(id: u64, updated: &str) -> Ticket {
        Ticket {
            id,
            updated_datetime: Some(updated.parse().unwrap()),
            ..Ticket::default()
        }
    }

    #[test]
    fn an_unreadable_ticket_is_skipped_until_its_version_changes() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut u = Unreadable::default();
        let bad = SkippedItem {
            id: Some(2),
            version: Some("\"v1\"".into()),
            error: "lone surrogate".into(),
        };
        let good = [ticket(1, "2026-01-01T00:00:00Z")];
        // First seen: worth one read.
        assert_eq!(
            u.observe_listing(&good, std::slice::from_ref(&bad)),
            vec![2]
        );
        assert!(u.record(2, now));
        assert!(!u.record(2, now), "recorded once");
        // Same version again: not read again.
        assert!(
            u.observe_listing(&good, std::slice::from_ref(&bad))
                .is_empty()
        );
        assert!(u.skip(2) && !u.skip(1));
        // Due only after the deadline, and only while listed.
        let deadline = jiff::SignedDuration::from_secs(60);
        assert!(u.due(now, deadline).is_empty());
        let later = now + jiff::SignedDuration::from_secs(61);
        assert_eq!(u.due(later, deadline), vec![2]);
        u.observe_listing(&good, &[]);
        assert!(
            u.due(later, deadline).is_empty(),
            "left the view: left alone"
        );
        assert!(u.skip(2), "and still not read on every poll");
        // Listed with a new version: read afresh.
        let edited = SkippedItem {
            version: Some("\"v2\"".into()),
            ..bad
        };
        assert_eq!(u.observe_listing(&good, &[edited]), vec![2]);
        assert!(!u.skip(2));
        // A full ticket that fails while its listing item decodes: keyed by the listed version.
        assert!(u.record(1, now));
        assert!(u.observe_listing(&good, &[]).is_empty());
        assert!(u.skip(1));
        let touched = [ticket(1, "2026-01-02T00:00:00Z")];
        u.observe_listing(&touched, &[]);
        assert!(!u.skip(1), "edited since: read again");
    }
}
