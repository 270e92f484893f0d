//! The one place where decisions become Gorgias writes. Every write is first recorded in the
//! ledger's action log under its idempotency key, then performed, then marked done; a key that is
//! already done is skipped, and a key left pending (a crash, a failed try) is checked against
//! Gorgias before it is performed again. The ticket's ledger row is saved only once every step of
//! the plan is done, so an interrupted plan is simply re-planned (the engine re-plans with the
//! same keys) and resumes where it stopped.

use crate::engine::{Action, Plan, describe};
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
    /// Refused by Gorgias for good (e.g. 400, 409); the plan went on without it.
    GaveUp(String),
    /// The ticket (or what the write names) is gone (404): the plan stops here, since every
    /// later step would meet the same answer.
    Gone(String),
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
    /// from). Write-ahead: every step is first recorded as pending and the row saved, then the
    /// steps are performed; a crash or a failure leaves the rest pending for [`Self::resume`].
    pub async fn execute(
        &self,
        ticket: &Ticket,
        plan: &Plan,
        now: Timestamp,
    ) -> Result<Vec<StepOutcome>, ExecError> {
        let mut outcomes: Vec<Option<StepOutcome>> = vec![None; plan.steps.len()];
        let keyed: Vec<(ActionKey, String)> = plan
            .steps
            .iter()
            .map(|step| {
                let key = ActionKey {
                    ticket_id: ticket.id,
                    kind: step.action.kind(),
                    trigger: step.trigger.clone(),
                };
                (key, payload_of(&step.action))
            })
            .collect();
        let mut row = plan.row.clone();
        row.seen_fingerprint = crate::engine::fingerprint_after(ticket, &plan.steps);
        // One transaction: the whole plan is recorded with the row, or none of it.
        let begun = self.ledger.begin_plan(&row, &keyed, now).await?;
        let mut todo = Vec::new();
        for (i, begin) in begun.into_iter().enumerate() {
            match begin {
                Begin::Finished(_) => outcomes[i] = Some(StepOutcome::AlreadyDone),
                // Recorded before, never confirmed: look before sending again.
                Begin::Pending(row) => todo.push((i, row, true)),
                Begin::Started(row) => todo.push((i, row, false)),
            }
        }

        // Failures that agents must hear about go into the plan's internal note.
        let mut note_extra = String::new();
        for (i, arow, check_first) in todo {
            let mut action = plan.steps[i].action.clone();
            if let Action::Note(text) = &mut action {
                text.push_str(&note_extra);
            }
            if check_first && landed_in(ticket, &action, self.bot_user_id) {
                self.ledger
                    .finish_action(arow.id, ActionStatus::Done, Some("found in Gorgias"), now)
                    .await?;
                outcomes[i] = Some(StepOutcome::AlreadyDone);
                continue;
            }
            if matches!(action, Action::Reply(_))
                && bot_replied_after(ticket, &plan.steps[i].trigger, self.bot_user_id)
            {
                tracing::warn!(
                    ticket_id = ticket.id,
                    trigger = %arow.key.trigger,
                    "the bot's own reply already follows this customer message in Gorgias \
                     (a lost or replaced ledger?): not replying again"
                );
                self.ledger
                    .finish_action(
                        arow.id,
                        ActionStatus::Done,
                        Some("not sent: the bot had already replied after this message"),
                        now,
                    )
                    .await?;
                outcomes[i] = Some(StepOutcome::AlreadyDone);
                continue;
            }
            let outcome = self
                .perform_logged(ticket, &arow, &action, plan, now)
                .await?;
            let gone = matches!(outcome, StepOutcome::Gone(_));
            if let StepOutcome::GaveUp(detail) | StepOutcome::Gone(detail) = &outcome {
                let _ = write!(note_extra, "\nnote: {} failed: {detail}", describe(&action));
            }
            outcomes[i] = Some(outcome);
            if gone {
                break;
            }
        }
        let landed_at = self.clock.now();
        for e in &plan.events {
            let event = e.clone().landed(landed_at);
            crate::metrics::record_event(&event);
            self.ledger
                .record_event(NewEvent::ticket(landed_at, ticket.id, event))
                .await?;
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or(StepOutcome::AlreadyDone))
            .collect())
    }

    /// Perform one recorded action and mark it: done, or abandoned when Gorgias refuses it
    /// for good (the plan goes on, so a handover is never lost to one refused write). A
    /// transient failure leaves it pending and stops the plan.
    async fn perform_logged(
        &self,
        ticket: &Ticket,
        arow: &crate::ledger::ActionRow,
        action: &Action,
        plan: &Plan,
        now: Timestamp,
    ) -> Result<StepOutcome, ExecError> {
        let key = &arow.key;
        match self.perform(ticket, action).await {
            Ok(()) => {
                self.ledger
                    .finish_action(arow.id, ActionStatus::Done, None, now)
                    .await?;
                tracing::info!(
                    ticket_id = ticket.id,
                    action = key.kind.as_str(),
                    trigger = %key.trigger,
                    reason = plan.row.reason.map_or("", |r| r.as_str()),
                    "{}",
                    describe(action)
                );
                Ok(StepOutcome::Done)
            }
            // An unknown outcome (a 2xx whose body could not be read) is never abandoned: look
            // once whether it landed; if not, it stays pending and is checked again next time.
            Err(e @ GorgiasError::Decode { .. }) => {
                let landed = match self.client.ticket(ticket.id).await {
                    Ok(t) => landed_in(&t, action, self.bot_user_id),
                    Err(_) => false,
                };
                if landed {
                    self.ledger
                        .finish_action(
                            arow.id,
                            ActionStatus::Done,
                            Some("found in Gorgias after an unreadable answer"),
                            now,
                        )
                        .await?;
                    return Ok(StepOutcome::Done);
                }
                tracing::warn!(ticket_id = ticket.id, action = key.kind.as_str(), error = %e, "write outcome unknown; will check again on the next poll");
                Err(ExecError::Gorgias {
                    ticket_id: ticket.id,
                    action: key.kind.as_str(),
                    source: e,
                })
            }
            Err(e) if e.is_transient() => {
                tracing::warn!(ticket_id = ticket.id, action = key.kind.as_str(), error = %e, "write failed; will retry on the next poll");
                Err(ExecError::Gorgias {
                    ticket_id: ticket.id,
                    action: key.kind.as_str(),
                    source: e,
                })
            }
            Err(e) => {
                let detail = short(&e);
                self.ledger
                    .finish_action(arow.id, ActionStatus::Abandoned, Some(&e.to_string()), now)
                    .await?;
                if matches!(e, GorgiasError::NotFound { .. }) {
                    tracing::error!(ticket_id = ticket.id, action = key.kind.as_str(), error = %e, "write refused: not found; the rest of the plan stops");
                    return Ok(StepOutcome::Gone(detail));
                }
                tracing::error!(ticket_id = ticket.id, action = key.kind.as_str(), error = %e, "write refused; going on without it");
                Ok(StepOutcome::GaveUp(detail))
            }
        }
    }

    /// Finish what a crash or a failure left pending on this ticket, in order, on the fresh
    /// `ticket`: what already landed is marked done; the rest is performed only while the ticket
    /// is still the bot's (and, for a close, while no customer wrote since the decision);
    /// otherwise it is abandoned. Returns how many writes were performed now.
    pub async fn resume(&self, ticket: &Ticket, now: Timestamp) -> Result<usize, ExecError> {
        let mut pending: Vec<_> = self
            .ledger
            .actions_for(ticket.id)
            .await?
            .into_iter()
            .filter(|a| a.status == ActionStatus::Pending)
            .collect();
        if pending.is_empty() {
            return Ok(0);
        }
        pending.sort_by_key(|a| a.id);
        let mut owned = ticket.is_assigned_to(self.bot_user_id);
        let mut performed = 0;
        for a in pending {
            let Some(action) = action_of(&a.payload) else {
                self.ledger
                    .finish_action(
                        a.id,
                        ActionStatus::Abandoned,
                        Some("unreadable payload"),
                        now,
                    )
                    .await?;
                continue;
            };
            if landed_in(ticket, &action, self.bot_user_id) {
                self.ledger
                    .finish_action(a.id, ActionStatus::Done, Some("found in Gorgias"), now)
                    .await?;
                continue;
            }
            let customer_wrote_since = ticket.messages.iter().any(|m| {
                m.is_from_customer() && m.created_datetime.is_some_and(|c| c > a.created_at)
            });
            let unsafe_because = if !owned {
                Some("the ticket is no longer the bot's")
            } else if !ticket.is_open() {
                Some("the ticket is closed")
            } else if action == Action::Close && customer_wrote_since {
                Some("the customer wrote since the close was decided")
            } else {
                None
            };
            if let Some(why) = unsafe_because {
                tracing::info!(
                    ticket_id = ticket.id,
                    action = a.key.kind.as_str(),
                    why,
                    "unfinished action abandoned"
                );
                self.ledger
                    .finish_action(a.id, ActionStatus::Abandoned, Some(why), now)
                    .await?;
                continue;
            }
            let plan_row = crate::ledger::TicketRow::new(ticket.id, now);
            let plan = Plan {
                row: plan_row,
                steps: Vec::new(),
                events: Vec::new(),
                need_answer: None,
                need_orders: None,
                rule: crate::engine::Rule::Nothing,
                previous_state: None,
            };
            if let StepOutcome::Done = self.perform_logged(ticket, &a, &action, &plan, now).await? {
                performed += 1;
                tracing::info!(
                    ticket_id = ticket.id,
                    action = a.key.kind.as_str(),
                    "resumed an unfinished action"
                );
            }
            if matches!(
                action,
                Action::Unassign | Action::AssignUser(_) | Action::AssignTeam(_)
            ) {
                owned = false;
            }
        }
        Ok(performed)
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
            // The PUT answers with the ticket: check the release really took, so that a ticket
            // is never left with the bot after a handover (retried on the next poll if not).
            Action::Unassign => {
                let t = c
                    .update_ticket(ticket.id, &TicketUpdate::unassign())
                    .await?;
                released(&t, t.assignee_user.is_none())
            }
            Action::AssignUser(id) => {
                let t = c
                    .update_ticket(ticket.id, &TicketUpdate::assign_user(*id))
                    .await?;
                released(&t, t.assignee_user.as_ref().is_some_and(|u| u.id == *id))
            }
            // A handover to a team must also leave the bot's hands, or the bot would still own it.
            Action::AssignTeam(id) => {
                let update = TicketUpdate::assign_team(*id).with_assignee_user(None);
                let t = c.update_ticket(ticket.id, &update).await?;
                released(&t, t.assignee_team.as_ref().is_some_and(|x| x.id == *id))
            }
            Action::Close => c
                .update_ticket(ticket.id, &TicketUpdate::close())
                .await
                .map(|_| ()),
            Action::SetEmail { customer_id, email } => {
                c.set_customer_email(*customer_id, email).await
            }
        }
    }

    /// The tickets with unfinished actions (for start-up and the poll: they are looked at
    /// and resumed even if the listing shows no change).
    pub async fn tickets_with_pending(&self) -> Result<Vec<u64>, LedgerError> {
        let mut ids: Vec<u64> = self
            .ledger
            .pending_actions()
            .await?
            .iter()
            .map(|a| a.key.ticket_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }
}

/// Did this write already reach Gorgias, judging by the fresh ticket?
pub fn landed_in(t: &Ticket, action: &Action, bot_user_id: u64) -> bool {
    let bot_said = |text: &str, public: bool| {
        t.messages.iter().any(|m| {
            m.is_by(bot_user_id)
                && m.is_internal_note() != public
                && m.body_text.as_deref().map(str::trim) == Some(text.trim())
        })
    };
    match action {
        Action::Reply(text) => bot_said(text, true),
        // A note may have had failure lines appended when it was sent.
        Action::Note(text) => {
            t.messages.iter().any(|m| {
                m.is_internal_note()
                    && m.sender.as_ref().is_some_and(|s| s.id == bot_user_id)
                    && m.body_text
                        .as_deref()
                        .is_some_and(|b| b.trim().starts_with(text.trim()))
            }) || bot_said(text, false)
        }
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
    }
}

/// Defence in depth behind the ledger (DESIGN.md section 9): a reply keyed by a customer
/// message (`m<id>`) whose ticket already shows a public message of the bot's after that
/// message. The ledger normally prevents this; a lost or replaced ledger does not.
fn bot_replied_after(t: &Ticket, trigger: &str, bot_user_id: u64) -> bool {
    let Some(id) = trigger
        .strip_prefix('m')
        .and_then(|r| r.parse::<u64>().ok())
    else {
        return false;
    };
    let key = |m: &crate::gorgias::Message| (m.created_datetime.unwrap_or(Timestamp::MIN), m.id);
    let Some(customer) = t.messages.iter().find(|m| m.id == id) else {
        return false;
    };
    t.messages
        .iter()
        .any(|m| m.is_public_by(bot_user_id) && key(m) > key(customer))
}

/// The assignee Gorgias reports after a release; a mismatch is treated as transient so that the
/// step stays pending and is checked and retried on the next poll.
fn released(t: &Ticket, ok: bool) -> Result<(), GorgiasError> {
    if ok {
        Ok(())
    } else {
        Err(GorgiasError::NotApplied {
            method: "PUT".into(),
            path: format!("/api/tickets/{}", t.id),
            detail: "the ticket's assignee did not change as asked".into(),
        })
    }
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
    fn a_reply_is_known_as_sent_when_the_bots_message_follows_the_customers() {
        use crate::gorgias::{Message, UserRef};
        let msg = |id: u64, secs: i64, from_agent: bool, sender: u64, public: bool| Message {
            id,
            from_agent,
            public: Some(public),
            sender: Some(UserRef {
                id: sender,
                ..Default::default()
            }),
            body_text: Some("x".into()),
            created_datetime: Some(Timestamp::from_second(secs).unwrap()),
            ..Default::default()
        };
        let mut t = Ticket {
            id: 1,
            messages: vec![msg(10, 100, false, 50, true)],
            ..Default::default()
        };
        assert!(!bot_replied_after(&t, "m10", 7));
        // An internal note, or someone else's reply, is not the bot's answer.
        t.messages.push(msg(11, 101, true, 7, false));
        t.messages.push(msg(12, 102, true, 8, true));
        assert!(!bot_replied_after(&t, "m10", 7));
        t.messages.push(msg(13, 103, true, 7, true));
        assert!(bot_replied_after(&t, "m10", 7));
        // Not keyed by a customer message (an email wait running out), or a message not there.
        assert!(!bot_replied_after(&t, "email_wait:5", 7));
        assert!(!bot_replied_after(&t, "m99", 7));
        // A newer customer message has no answer yet.
        t.messages.push(msg(14, 104, false, 50, true));
        assert!(!bot_replied_after(&t, "m14", 7));
    }

    async fn executor_on(server: &wiremock::MockServer) -> Executor {
        use crate::gorgias::{Auth, ClientConfig};
        let mut cfg = ClientConfig::new(
            server.uri(),
            Auth::Basic {
                email: "bot@example.com".into(),
                api_key: "k".into(),
            },
        );
        cfg.max_retries = 0;
        Executor {
            client: Client::new(cfg).unwrap(),
            ledger: Ledger::open_in_memory().await.unwrap(),
            bot_user_id: 7,
            clock: std::sync::Arc::new(crate::clock::SystemClock),
        }
    }

    fn plan_of(ticket_id: u64, actions: Vec<Action>) -> Plan {
        let mut plan = Plan::new(crate::ledger::TicketRow::new(
            ticket_id,
            Timestamp::UNIX_EPOCH,
        ));
        for a in actions {
            plan.push(a, "m1");
        }
        plan
    }

    #[tokio::test]
    async fn a_write_answered_not_found_stops_the_plan() {
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/tickets/1/messages"))
            .respond_with(
                ResponseTemplate::new(404)
                    .set_body_json(serde_json::json!({"error": {"msg": "gone"}})),
            )
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/tickets/1/tags"))
            .respond_with(ResponseTemplate::new(201))
            .expect(0)
            .mount(&server)
            .await;
        let ex = executor_on(&server).await;
        let ticket = Ticket {
            id: 1,
            ..Default::default()
        };
        let plan = plan_of(
            1,
            vec![
                Action::Reply("hi".into()),
                Action::AddTags(vec!["x".into()]),
            ],
        );
        let out = ex
            .execute(&ticket, &plan, Timestamp::UNIX_EPOCH)
            .await
            .unwrap();
        assert!(
            matches!(&out[0], StepOutcome::Gone(d) if d.contains("not found")),
            "{out:?}"
        );
        // The tag step was never sent (the mock expects no call) and stays pending.
        let pending = ex.ledger.pending_actions().await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].key.kind, crate::ledger::ActionKind::Tag);
    }

    #[tokio::test]
    async fn a_release_the_answer_shows_not_taken_stays_pending_as_not_applied() {
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(method("PUT"))
            .and(path("/api/tickets/1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"id": 1, "status": "open", "assignee_user": {"id": 7}}),
            ))
            .mount(&server)
            .await;
        let ex = executor_on(&server).await;
        let ticket = Ticket {
            id: 1,
            ..Default::default()
        };
        let err = ex
            .execute(
                &ticket,
                &plan_of(1, vec![Action::Unassign]),
                Timestamp::UNIX_EPOCH,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                &err,
                ExecError::Gorgias {
                    source: GorgiasError::NotApplied { .. },
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(ex.ledger.pending_actions().await.unwrap().len(), 1);
    }

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
