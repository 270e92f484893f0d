//! The one place where decisions become Gorgias writes. Every write is first recorded in the
//! ledger's action log under its idempotency key, then performed, then marked done; a key that is
//! already done is skipped, and a key left pending (a crash, a failed try) is checked against
//! Gorgias before it is performed again. The ticket's ledger row is saved only once every step of
//! the plan is done, so an interrupted plan is simply re-planned (the engine re-plans with the
//! same keys) and resumes where it stopped.

use crate::engine::{Action, Plan};
use crate::gorgias::{Client, GorgiasError, NewMessage, Ticket, TicketUpdate};
use crate::ledger::{ActionKey, ActionStatus, Begin, Ledger, LedgerError, NewEvent};
use jiff::Timestamp;
use std::fmt::Write as _;

/// Why a plan stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// Gorgias failed in a way worth retrying on the next poll; the remaining steps stay pending.
    #[error("ticket {ticket_id}: {action} failed: {source}")]
    Gorgias {
        ticket_id: u64,
        action: &'static str,
        #[source]
        source: GorgiasError,
    },
    /// The ledger cannot record: the daemon must stop acting.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl ExecError {
    /// The ledger failed in a way that forbids acting further.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Ledger(e) if e.is_fatal())
    }
}

/// What happened to one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// Performed now.
    Done,
    /// Already done earlier (the ledger said so, or Gorgias showed it had landed).
    AlreadyDone,
    /// Refused by Gorgias for good (e.g. 400, 404, 409); the plan went on without it.
    GaveUp(String),
}

/// Performs plans against Gorgias with the ledger's action log.
#[derive(Clone)]
pub struct Executor {
    pub client: Client,
    pub ledger: Ledger,
    pub bot_user_id: u64,
    /// Reads the time the writes landed, for the close lag and reply latency figures.
    pub clock: std::sync::Arc<dyn crate::clock::Clock>,
}

impl Executor {
    /// Perform every step of `plan` in order on `ticket` (the fresh ticket the plan was made
    /// from), then save the row and its events. Returns each step's outcome.
    pub async fn execute(
        &self,
        ticket: &Ticket,
        plan: &Plan,
        now: Timestamp,
    ) -> Result<Vec<StepOutcome>, ExecError> {
        let mut outcomes = Vec::with_capacity(plan.steps.len());
        // Failures that agents must hear about go into the plan's internal note.
        let mut note_extra = String::new();
        for step in &plan.steps {
            let key = ActionKey {
                ticket_id: ticket.id,
                kind: step.action.kind(),
                trigger: step.trigger.clone(),
            };
            let mut action = step.action.clone();
            if let Action::Note(text) = &mut action {
                text.push_str(&note_extra);
            }
            let payload = payload_of(&action);
            let row = match self.ledger.begin_action(&key, &payload, now).await? {
                Begin::Finished(_) => {
                    outcomes.push(StepOutcome::AlreadyDone);
                    continue;
                }
                Begin::Pending(row) => {
                    // Sent before without confirmation: look before sending again. If we
                    // cannot look, we do not know: sending blindly could reply twice.
                    let landed = self.landed(ticket.id, &action).await.map_err(|source| {
                        ExecError::Gorgias {
                            ticket_id: ticket.id,
                            action: key.kind.as_str(),
                            source,
                        }
                    })?;
                    if landed {
                        self.ledger
                            .finish_action(
                                row.id,
                                ActionStatus::Done,
                                Some("found in Gorgias"),
                                now,
                            )
                            .await?;
                        tracing::info!(ticket_id = ticket.id, action = key.kind.as_str(), trigger = %key.trigger, "already landed; not sent again");
                        outcomes.push(StepOutcome::AlreadyDone);
                        continue;
                    }
                    row
                }
                Begin::Started(row) => row,
            };
            match self.perform(ticket, &action).await {
                Ok(()) => {
                    self.ledger
                        .finish_action(row.id, ActionStatus::Done, None, now)
                        .await?;
                    tracing::info!(
                        ticket_id = ticket.id,
                        action = key.kind.as_str(),
                        trigger = %key.trigger,
                        reason = plan.row.reason.as_deref().unwrap_or(""),
                        "{}",
                        describe(&action)
                    );
                    outcomes.push(StepOutcome::Done);
                }
                // Unknown whether it landed: a 2xx we could not read, or a transient failure
                // after the client's retries (a reset may come after Gorgias acted). Never
                // abandon such a write (an abandoned reply would let the ticket close
                // unanswered): look once now, and if it is not there (or we cannot look), keep
                // it pending for the next poll. Looking now matters for a release: once the
                // ticket has left the bot's view the rest of the plan would never run.
                Err(e) if e.is_transient() || matches!(e, GorgiasError::Decode { .. }) => {
                    let may_have_landed = !matches!(e, GorgiasError::RateLimited { .. })
                        && !matches!(action, Action::Reply(_) | Action::Note(_));
                    if may_have_landed && matches!(self.landed(ticket.id, &action).await, Ok(true))
                    {
                        self.ledger
                            .finish_action(
                                row.id,
                                ActionStatus::Done,
                                Some("found in Gorgias"),
                                now,
                            )
                            .await?;
                        tracing::info!(ticket_id = ticket.id, action = key.kind.as_str(), error = %e, "write answered badly but landed");
                        outcomes.push(StepOutcome::Done);
                        continue;
                    }
                    tracing::warn!(ticket_id = ticket.id, action = key.kind.as_str(), error = %e, "write failed; will retry on the next poll");
                    return Err(ExecError::Gorgias {
                        ticket_id: ticket.id,
                        action: key.kind.as_str(),
                        source: e,
                    });
                }
                Err(e) => {
                    // Refused for good: record it, tell the agents, and go on, so that a
                    // handover is never lost because one write was refused.
                    let detail = e.to_string();
                    self.ledger
                        .finish_action(row.id, ActionStatus::Abandoned, Some(&detail), now)
                        .await?;
                    tracing::error!(ticket_id = ticket.id, action = key.kind.as_str(), error = %e, "write refused; going on without it");
                    let _ = write!(
                        note_extra,
                        "\nnote: {} failed: {}",
                        describe(&action),
                        short(&e)
                    );
                    outcomes.push(StepOutcome::GaveUp(detail));
                    if matches!(e, GorgiasError::NotFound { .. }) {
                        break;
                    }
                }
            }
        }
        let mut row = plan.row.clone();
        row.seen_fingerprint = crate::engine::fingerprint_after(ticket, &plan.steps);
        self.ledger.save_ticket(&row).await?;
        let landed_at = self.clock.now();
        for e in &plan.events {
            self.ledger
                .record_event(NewEvent {
                    at: landed_at,
                    ticket_id: Some(ticket.id),
                    kind: e.kind.clone(),
                    reason: e.reason.clone(),
                    detail: Some(with_landed_figures(&e.detail, landed_at)),
                })
                .await?;
        }
        Ok(outcomes)
    }

    async fn perform(&self, ticket: &Ticket, action: &Action) -> Result<(), GorgiasError> {
        let c = &self.client;
        match action {
            Action::Reply(text) => {
                let last_customer = ticket.messages.iter().rev().find(|m| m.is_from_customer());
                let msg = match last_customer {
                    Some(m) => NewMessage::reply_to(m, self.bot_user_id, text),
                    None => NewMessage::internal_note(self.bot_user_id, text),
                };
                c.post_message(ticket.id, &msg).await.map(|_| ())
            }
            Action::Note(text) => c
                .post_message(
                    ticket.id,
                    &NewMessage::internal_note(self.bot_user_id, text),
                )
                .await
                .map(|_| ()),
            Action::AddTags(names) => c.add_tags(ticket.id, names).await,
            Action::RemoveTags(names) => c.remove_tags(ticket.id, names).await,
            Action::Unassign => c
                .update_ticket(ticket.id, &TicketUpdate::unassign())
                .await
                .map(|_| ()),
            Action::AssignUser(id) => c
                .update_ticket(ticket.id, &TicketUpdate::assign_user(*id))
                .await
                .map(|_| ()),
            // A handover to a team must also leave the bot's hands, or the bot would still own it.
            Action::AssignTeam(id) => c
                .update_ticket(
                    ticket.id,
                    &TicketUpdate::assign_team(*id).with_assignee_user(None),
                )
                .await
                .map(|_| ()),
            Action::Close => c
                .update_ticket(ticket.id, &TicketUpdate::close())
                .await
                .map(|_| ()),
            Action::SetEmail { customer_id, email } => {
                c.set_customer_email(*customer_id, email).await
            }
        }
    }

    /// Did this write already reach Gorgias? Reads the ticket fresh.
    pub async fn landed(&self, ticket_id: u64, action: &Action) -> Result<bool, GorgiasError> {
        let t = self.client.ticket(ticket_id).await?;
        let bot_said = |text: &str, public: bool| {
            t.messages.iter().any(|m| {
                m.from_agent
                    && m.sender.as_ref().is_some_and(|s| s.id == self.bot_user_id)
                    && m.is_internal_note() != public
                    && m.body_text.as_deref().map(str::trim) == Some(text.trim())
            })
        };
        Ok(match action {
            Action::Reply(text) => bot_said(text, true),
            Action::Note(text) => bot_said(text, false),
            Action::AddTags(names) => names.iter().all(|n| t.has_tag(n)),
            Action::RemoveTags(names) => names.iter().all(|n| !t.has_tag(n)),
            Action::Unassign => t.assignee_user.is_none(),
            Action::AssignUser(id) => t.assignee_user.as_ref().is_some_and(|u| u.id == *id),
            Action::AssignTeam(id) => {
                t.assignee_team.as_ref().is_some_and(|x| x.id == *id) && t.assignee_user.is_none()
            }
            Action::Close => !t.is_open(),
            Action::SetEmail { email, .. } => t
                .customer
                .as_ref()
                .and_then(|c| c.email.as_deref())
                .is_some_and(|e| e.eq_ignore_ascii_case(email)),
        })
    }

    /// On start-up: every action left pending by a crash is checked against Gorgias; those that
    /// landed are marked done. The rest stay pending and are performed only if the ticket's
    /// fresh decision asks for them again. Returns (checked, found landed).
    pub async fn recover(&self, now: Timestamp) -> Result<(usize, usize), LedgerError> {
        let pending = self.ledger.pending_actions().await?;
        let mut landed = 0;
        for a in &pending {
            let Some(action) = action_of(&a.payload) else {
                continue;
            };
            match self.landed(a.key.ticket_id, &action).await {
                Ok(true) => {
                    self.ledger
                        .finish_action(
                            a.id,
                            ActionStatus::Done,
                            Some("found in Gorgias at start-up"),
                            now,
                        )
                        .await?;
                    landed += 1;
                }
                Ok(false) => {}
                Err(GorgiasError::NotFound { .. }) => {
                    self.ledger
                        .finish_action(a.id, ActionStatus::Abandoned, Some("ticket gone"), now)
                        .await?;
                }
                Err(e) => {
                    tracing::warn!(ticket_id = a.key.ticket_id, error = %e, "could not check a pending action; will check again")
                }
            }
        }
        Ok((pending.len(), landed))
    }
}

/// Close lag and reply latency measured to when the writes landed, which is what the customer
/// sees: `deadline_us` becomes `lag_ms`, `since_us` becomes `latency_ms`.
fn with_landed_figures(detail: &serde_json::Value, landed_at: Timestamp) -> serde_json::Value {
    let mut d = detail.clone();
    let at = landed_at.as_microsecond();
    if let Some(obj) = d.as_object_mut() {
        if let Some(deadline) = obj.get("deadline_us").and_then(|v| v.as_i64()) {
            obj.insert("lag_ms".into(), ((at - deadline).max(0) / 1000).into());
        }
        if let Some(since) = obj.get("since_us").and_then(|v| v.as_i64()) {
            obj.insert("latency_ms".into(), ((at - since).max(0) / 1000).into());
        }
    }
    d
}

/// The action as stored in the log (JSON), enough to check it and to describe it.
fn payload_of(action: &Action) -> String {
    let v = match action {
        Action::Reply(t) => serde_json::json!({"reply": t}),
        Action::Note(t) => serde_json::json!({"note": t}),
        Action::AddTags(n) => serde_json::json!({"add_tags": n}),
        Action::RemoveTags(n) => serde_json::json!({"remove_tags": n}),
        Action::Unassign => serde_json::json!({"unassign": true}),
        Action::AssignUser(id) => serde_json::json!({"assign_user": id}),
        Action::AssignTeam(id) => serde_json::json!({"assign_team": id}),
        Action::Close => serde_json::json!({"close": true}),
        Action::SetEmail { customer_id, email } => {
            serde_json::json!({"set_email": {"customer_id": customer_id, "email": email}})
        }
    };
    v.to_string()
}

/// The inverse of [`payload_of`].
pub fn action_of(payload: &str) -> Option<Action> {
    let v: serde_json::Value = serde_json::from_str(payload).ok()?;
    let strings = |x: &serde_json::Value| -> Option<Vec<String>> {
        x.as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let (k, x) = v.as_object()?.iter().next()?;
    Some(match k.as_str() {
        "reply" => Action::Reply(x.as_str()?.to_string()),
        "note" => Action::Note(x.as_str()?.to_string()),
        "add_tags" => Action::AddTags(strings(x)?),
        "remove_tags" => Action::RemoveTags(strings(x)?),
        "unassign" => Action::Unassign,
        "assign_user" => Action::AssignUser(x.as_u64()?),
        "assign_team" => Action::AssignTeam(x.as_u64()?),
        "close" => Action::Close,
        "set_email" => Action::SetEmail {
            customer_id: x.get("customer_id")?.as_u64()?,
            email: x.get("email")?.as_str()?.to_string(),
        },
        _ => return None,
    })
}

/// A short human description of an action, for logs and the demo's timeline.
pub fn describe(action: &Action) -> String {
    match action {
        Action::Reply(t) => format!("replied: {}", clip(t, 70)),
        Action::Note(t) => format!(
            "internal note: {}",
            clip(t.lines().next().unwrap_or(""), 70)
        ),
        Action::AddTags(n) => format!("tagged {}", n.join(", ")),
        Action::RemoveTags(n) => format!("untagged {}", n.join(", ")),
        Action::Unassign => "unassigned".to_string(),
        Action::AssignUser(id) => format!("assigned to user {id}"),
        Action::AssignTeam(id) => format!("assigned to team {id}"),
        Action::Close => "closed".to_string(),
        Action::SetEmail { email, .. } => format!("saved customer email {email}"),
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

fn short(e: &GorgiasError) -> String {
    match e {
        GorgiasError::Conflict { msg, .. } => format!("conflict ({msg})"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        for a in [
            Action::Reply("hi \"there\"".into()),
            Action::Note("n".into()),
            Action::AddTags(vec!["a".into(), "b".into()]),
            Action::RemoveTags(vec!["a".into()]),
            Action::Unassign,
            Action::AssignUser(3),
            Action::AssignTeam(4),
            Action::Close,
            Action::SetEmail {
                customer_id: 9,
                email: "a@b.org".into(),
            },
        ] {
            assert_eq!(action_of(&payload_of(&a)), Some(a));
        }
    }
}
