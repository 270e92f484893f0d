//! One ticket: read it fresh, finish unfinished writes, learn its `#kb` notes, ask for the
//! customer's orders or an answer when the engine wants them, decide, then write the plan
//! through the executor (a reply, a handover, the idle close) and tell the watchers.

use super::{Cause, Daemon, Notice, PassError, PassStats, ProcessError, is_shadow};
use crate::engine::describe;
use crate::engine::{self, Answering, Availability, Input, Plan, Rule};
use crate::executor::StepOutcome;
use crate::gorgias::{GorgiasError, Ticket};
use crate::inflight::{Answered, Progress};
use crate::ledger::{TicketRow, TicketState};
use crate::responder::Outcome;
use jiff::Timestamp;
use std::time::{Duration, Instant};

/// A responder outcome that is ready within this long after the ticket's read is written on
/// that read, with no second read. Safe because nothing else changes: the plan is still
/// recorded write-ahead by the executor and keyed to the customer's message it answers (one
/// reply per customer message), and a customer who writes in this short gap is as if they
/// wrote just after the reply was posted: the next poll sees the new message and answers it.
/// A slower answer (an LLM) is decided when it finishes, on a fresh read, as before. The
/// worker waits at most this long per new customer turn (real time: it bounds the responder's
/// own work, which a fast clock does not speed up), doing the closes that fall due meanwhile;
/// a turn costs at least two requests (its read and its reply), and the default budget allows
/// two a second, so the wait does not lower how many turns an hour the bot can take. Long
/// enough for the knowledge base's decision (milliseconds) on a loaded machine: at 100 ms one
/// conversation in 20 still needed the second read in a debug build under load.
pub const ANSWER_GRACE: Duration = Duration::from_millis(250);

impl Daemon {
    pub(super) async fn process_counted(
        &self,
        id: u64,
        cause: Cause,
        stats: &mut PassStats,
    ) -> Result<(), PassError> {
        let result = self.process(id, cause).await;
        // Each ticket done is the loop being alive: a long pass (a backlog paced at the API
        // limit) must not look like a hang to systemd's watchdog.
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
        // `insert` is false when the ticket already failed last time: its repeats are debug,
        // so a ticket that keeps failing through an outage is one warning, not one per pass.
        let first_failure = match &result {
            Ok(()) => {
                self.listing().retry.remove(&id);
                false
            }
            // Not read again on every poll: see `unreadable`.
            Err(ProcessError::Gorgias(e @ GorgiasError::Decode { .. })) => {
                self.listing().retry.remove(&id);
                self.unreadable_found(id, e);
                stats.failed += 1;
                return Ok(());
            }
            Err(_) => self.listing().retry.insert(id),
        };
        match result {
            Ok(()) => stats.decided += 1,
            Err(ProcessError::Exec(e)) if e.is_fatal() => {
                return Err(PassError::Ledger(e.to_string()));
            }
            Err(ProcessError::Ledger(e)) if e.is_fatal() => {
                return Err(PassError::Ledger(e.to_string()));
            }
            Err(e) => {
                stats.failed += 1;
                if first_failure {
                    tracing::warn!(ticket_id = id, error = %e, "ticket not processed; will retry");
                } else {
                    tracing::debug!(ticket_id = id, error = %e, "ticket not processed again; will retry");
                }
                let _ = self
                    .ledger
                    .record_error(self.clock.now(), Some(id), &e)
                    .await;
            }
        }
        Ok(())
    }

    /// Read one ticket fresh, decide (asking the responder if needed), act.
    async fn process(&self, id: u64, cause: Cause) -> Result<(), ProcessError> {
        let mut ticket = match self.client.ticket(id).await {
            Ok(t) => t,
            Err(GorgiasError::NotFound { .. }) => return self.forget_deleted(id).await,
            Err(e) => return Err(e.into()),
        };
        let read_at = tokio::time::Instant::now();
        if let Some(read) = self.listing().read_while_listing.as_mut()
            && let Some(f) = engine::fingerprint_after(&ticket, &[])
        {
            read.insert(id, f);
        }
        let mut now = self.clock.now();
        // `now` on the monotonic clock, for the close timer armed after the writes below.
        let mut decided_at = tokio::time::Instant::now();
        if self.executor.resume(&ticket, now).await? > 0 {
            // Decide on what Gorgias says after the resumed writes, on the next pass.
            return Ok(());
        }
        // Before deciding, so that a note answering this very ticket's question is used.
        self.knowledge
            .learn_from(
                &ticket,
                self.bot_user_id(),
                &self.ledger,
                &*self.responder,
                now,
            )
            .await?;
        let row = self.ledger.ticket(id).await?;
        let mut availability = None;
        let mut plan = self
            .decide_on_presence(
                &ticket,
                row.as_ref(),
                now,
                &mut availability,
                Answering::NotAsked,
            )
            .await;
        if let Some(customer_id) = plan.need_orders.take() {
            let asked = Instant::now();
            let lookup = self.customer_orders(customer_id).await;
            (now, decided_at) = (self.clock.now(), tokio::time::Instant::now());
            let answering = Answering::Orders(&lookup);
            plan = self
                .decide_on_presence(&ticket, row.as_ref(), now, &mut availability, answering)
                .await;
            // As after a slow responder: before handing over, decide on what Gorgias says now.
            if is_handover(&plan) && asked.elapsed() > Duration::from_secs(1) {
                ticket = self.client.ticket(id).await?;
                plan = self
                    .decide_on_presence(&ticket, row.as_ref(), now, &mut availability, answering)
                    .await;
                if plan.need_orders.is_some() || plan.need_answer.is_some() {
                    return Ok(());
                }
            }
        }
        match plan.need_answer.take() {
            // The outcome is for exactly this turn of the ticket as read above: either that
            // read was made after the call finished (a customer who wrote meanwhile gets a new
            // call instead), or the call finished within `ANSWER_GRACE` of the read.
            Some(turn) => match self
                .inflight
                .answer_by(id, &turn, &self.responder, read_at + ANSWER_GRACE)
                .await
            {
                Progress::Waiting => return Ok(()),
                Progress::Ready(answered) => {
                    let answering = match &answered {
                        Answered::Outcome(outcome) => Answering::Outcome(outcome),
                        Answered::Failed(why) => Answering::Failed(why),
                    };
                    plan = self
                        .decide_on_presence(
                            &ticket,
                            row.as_ref(),
                            now,
                            &mut availability,
                            answering,
                        )
                        .await;
                }
            },
            None => self.inflight.forget(id),
        }
        if plan.rule == Rule::IdleClose
            && let Some(left) = self
                .close_timers
                .held(id, row.as_ref().and_then(|r| r.close_deadline))
        {
            tracing::warn!(
                ticket_id = id,
                left_ms = left.as_millis() as u64,
                "the wall clock is ahead of the time this process measured: the close waits"
            );
            return Ok(());
        }
        if is_shadow(&self.config) {
            let tag = &self.policy.tags.preview;
            plan = plan.shadowed(tag, ticket.has_tag(tag));
        }
        let outcomes = self.executor.execute(&ticket, &plan, now).await?;
        let deadline = plan.row.close_deadline;
        let wait = deadline.map_or(Duration::ZERO, |d| engine::until(now, d).unsigned_abs());
        // The deadline is `now` + wait: counted from when `now` was read, not from here (the
        // writes took time), or the monotonic hold would keep the close that much past it.
        let wait = self.clock.real(wait).saturating_sub(decided_at.elapsed());
        self.close_timers.arm(id, deadline, wait);
        self.report(&ticket, &plan, &outcomes, cause, now);
        Ok(())
    }

    /// The ticket's customer's Shopify orders; any failure (5xx, 404, an unreadable body, a
    /// record for someone else) is a `Failed` the engine hands over on, never an error that
    /// leaves the customer unanswered.
    async fn customer_orders(&self, customer_id: u64) -> crate::orders::OrderLookup {
        use crate::orders::{OrderLookup, parse_customer};
        match self.client.customer(customer_id).await {
            Ok(body) => match parse_customer(customer_id, &body) {
                Ok(orders) => OrderLookup::Found(orders),
                Err(why) => OrderLookup::Failed(why),
            },
            Err(e) => {
                tracing::warn!(customer_id, error = %e, "cannot read the customer's orders");
                OrderLookup::Failed(e.to_string())
            }
        }
    }

    /// [`engine::decide`] with agent presence read from Gorgias (`GET /api/users`, cached for
    /// a minute) only when the plan depends on it: within business hours and with no fresh
    /// reading, the plan is made for agents online and for none, and presence is read only if
    /// the two differ (a handover's message and note; never an answer or a close). What was
    /// read is kept in `availability` for the ticket's later decisions.
    async fn decide_on_presence(
        &self,
        ticket: &Ticket,
        row: Option<&TicketRow>,
        now: Timestamp,
        availability: &mut Option<Availability>,
        answer: Answering<'_>,
    ) -> Plan {
        if availability.is_none() {
            *availability = self.known_availability(now);
        }
        if let Some(a) = availability.as_ref() {
            return self.decide(ticket, row, now, a, answer);
        }
        let online = self.decide(ticket, row, now, &Availability::Online, answer);
        if online == self.decide(ticket, row, now, &Availability::NoAgents, answer) {
            return online;
        }
        let a = availability.insert(self.availability(now).await);
        self.decide(ticket, row, now, a, answer)
    }

    /// The availability at `now` when it costs no request: after hours, or presence read less
    /// than [`crate::gorgias::presence::Presence::TTL`] ago.
    fn known_availability(&self, now: Timestamp) -> Option<Availability> {
        if !self.hours.is_open(now) {
            return Some(Availability::AfterHours {
                next_open: self.hours.next_open_local(now),
            });
        }
        let ttl = self.clock.real(crate::gorgias::presence::Presence::TTL);
        self.presence.cached(ttl).map(|online| match online {
            Some(false) => Availability::NoAgents,
            _ => Availability::Online,
        })
    }

    fn decide(
        &self,
        ticket: &Ticket,
        row: Option<&TicketRow>,
        now: Timestamp,
        availability: &Availability,
        answer: Answering<'_>,
    ) -> Plan {
        engine::decide(
            &Input {
                ticket,
                row,
                now,
                availability,
                answer,
            },
            &self.policy,
        )
    }

    async fn forget_deleted(&self, id: u64) -> Result<(), ProcessError> {
        self.inflight.forget(id);
        if let Some(mut row) = self.ledger.ticket(id).await? {
            row.state = TicketState::Released;
            row.reason = Some(crate::ledger::StateReason::Deleted);
            row.close_deadline = None;
            row.pending_since = None;
            self.ledger.save_ticket(&row).await?;
        }
        Ok(())
    }

    pub(super) fn report(
        &self,
        ticket: &Ticket,
        plan: &Plan,
        outcomes: &[StepOutcome],
        cause: Cause,
        now: Timestamp,
    ) {
        let actions: Vec<String> = plan
            .steps
            .iter()
            .zip(outcomes)
            .filter(|(_, o)| !matches!(o, StepOutcome::AlreadyDone))
            .map(|(s, _)| describe(&s.action))
            .collect();
        let changed = plan.previous_state != Some(plan.row.state);
        if actions.is_empty() && !changed {
            tracing::debug!(
                ticket_id = ticket.id,
                rule = plan.rule.as_str(),
                "nothing to do"
            );
            return;
        }
        tracing::info!(
            ticket_id = ticket.id,
            rule = plan.rule.as_str(),
            state = plan.row.state.as_str(),
            reason = plan.row.reason.map_or("", |r| r.as_str()),
            cause = ?cause,
            "decided"
        );
        let _ = self.notices.send(Notice {
            at: now,
            ticket_id: ticket.id,
            rule: plan.rule,
            state: plan.row.state,
            reason: plan.row.reason,
            actions,
        });
    }

    /// Online / no agents / after hours. Presence is read from Gorgias at most once a minute,
    /// and only within business hours; an account that does not expose it counts as online.
    pub async fn availability(&self, now: Timestamp) -> Availability {
        if !self.hours.is_open(now) {
            return Availability::AfterHours {
                next_open: self.hours.next_open_local(now),
            };
        }
        let ttl = self.clock.real(crate::gorgias::presence::Presence::TTL);
        match self
            .presence
            .anyone_online(&self.client, self.policy.bot_user_id, ttl)
            .await
        {
            Some(false) => Availability::NoAgents,
            _ => Availability::Online,
        }
    }
}

/// Whether the plan hands the ticket over now (or asks for the email first).
fn is_handover(plan: &Plan) -> bool {
    matches!(
        plan.row.state,
        TicketState::Escalated | TicketState::AwaitingEmail
    ) && plan.previous_state != Some(plan.row.state)
}

impl From<&Outcome> for &'static str {
    fn from(o: &Outcome) -> Self {
        match o {
            Outcome::Answer { .. } => "answer",
            Outcome::NoKnowledge { .. } => "no_knowledge",
            Outcome::Handover(_) => "handover",
        }
    }
}
