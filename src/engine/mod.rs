//! The decision engine: pure functions from (ticket, ledger row, now, policy, availability) to a
//! plan of actions. No I/O, no clock, no database: the caller reads `now` once, gathers a fresh
//! ticket and its ledger row, calls [`decide`], and executes the plan.
//!
//! Answering needs the responder, which may do I/O, so deciding is two-phase: when a customer
//! turn needs an answer and `Input::answer` is `Answering::NotAsked`, the plan carries
//! `need_answer` and nothing else; the caller asks the responder and decides again with the
//! outcome. Every action carries the trigger that makes its idempotency key, so that an action is
//! performed at most once whatever happens in between.

mod fingerprint;
mod orders;
#[cfg(test)]
mod orders_tests;
mod plan;
#[cfg(test)]
mod tests;

pub use fingerprint::{fingerprint, fingerprint_after};
pub use plan::*;

use crate::gorgias::{Message, Ticket};
use crate::ledger::{AfterFailure, Event, StateReason, TicketRow, TicketState};
use crate::responder::intent::{self, Intent};
use crate::responder::smalltalk::{self, Courtesy, SmallTalk};
use crate::responder::{HandoverReason, Outcome, Speaker, Turn};
use jiff::{SignedDuration, Timestamp};

/// Decide what to do with one ticket, in the order of DESIGN.md's lifecycle table.
pub fn decide(input: &Input<'_>, policy: &Policy) -> Plan {
    let t = input.ticket;
    let mut row = input
        .row
        .cloned()
        .unwrap_or_else(|| TicketRow::new(t.id, input.now));
    row.seen_updated_at = t.updated_datetime;
    // When the bot last looked: the retention sweep only forgets rows untouched for long.
    row.updated_at = Some(input.now);
    row.seen_messages_count = Some(t.messages.len() as u64);
    let mut plan = Plan::new(row);

    // A closed ticket is not the bot's to act on; a customer message reopens it in Gorgias.
    if !t.is_open() {
        plan.enter(
            TicketState::Closed,
            StateReason::ClosedElsewhere,
            Rule::Closed,
        );
        return plan;
    }

    // 1. Opt-out tag: nothing, ever, until the tag is gone.
    if policy.opt_out_tags().any(|tag| t.has_tag(tag)) {
        plan.enter(TicketState::Ignored, StateReason::OptOut, Rule::OptOut);
        return plan;
    }

    let owned = t.is_assigned_to(policy.bot_user_id);
    let bot_replied = t.messages.iter().any(|m| is_bot_message(m, policy));

    // 2. A Gorgias Rule, Flow or Macro spoke first: stay out, and release so the ticket never
    // sits with a silent bot.
    if owned && !bot_replied && last_agent_side(t).is_some_and(|m| m.is_automation()) {
        let trigger = format!("rule:{}", last_agent_side(t).map_or(0, |m| m.id));
        plan.push(
            Action::AddTags(vec![policy.tags.not_involved.clone()]),
            &trigger,
        );
        push_release(&mut plan, policy, &trigger);
        plan.enter(
            TicketState::Ignored,
            StateReason::Handover(HandoverReason::Automation),
            Rule::Automation,
        );
        return plan;
    }

    // 3. Not a bot channel.
    let channel = t.channel.as_deref().unwrap_or("");
    if !policy.channels.iter().any(|c| c == channel) {
        plan.enter(
            TicketState::Ignored,
            StateReason::Channel,
            Rule::NotBotChannel,
        );
        return plan;
    }

    // 4. Assigned to someone else, or unassigned by someone else.
    if !owned {
        match plan.row.state {
            // The bot released it itself (handover): stays handed over.
            TicketState::Escalated | TicketState::Released => plan.rule = Rule::NotOwned,
            _ => {
                let reason = if t.assignee_user.is_some() || t.assignee_team.is_some() {
                    StateReason::AgentTakeover
                } else {
                    StateReason::Unassigned
                };
                plan.enter(TicketState::Released, reason, Rule::NotOwned);
            }
        }
        return plan;
    }

    // 5. The bot's again, but still carries an escalation tag: still handed over.
    if t.has_tag(&policy.tags.agent_required) || t.has_tag(&policy.tags.agent_check) {
        plan.enter(
            TicketState::Escalated,
            StateReason::Tagged,
            Rule::StillEscalated,
        );
        return plan;
    }

    // 6. Returned to the bot (after a handover, a takeover, an opt-out or a close).
    let returning = matches!(
        plan.row.state,
        TicketState::Escalated | TicketState::Released | TicketState::Ignored
    );
    if returning {
        plan.row.returned_at = Some(input.now);
        plan.row.close_deadline = None;
        plan.row.email_requested_at = None;
        plan.set_state(
            TicketState::Active,
            Some(StateReason::Returned),
            Rule::Returned,
        );
    } else if plan.row.state == TicketState::Closed {
        plan.set_state(
            TicketState::Active,
            Some(StateReason::Reopened),
            Rule::Reopened,
        );
        plan.row.close_deadline = None;
    }

    // A human agent replied on the bot's ticket without reassigning it: that agent has taken
    // the conversation over. Make it explicit (assign to them) and go silent, rather than talk
    // over a person or close a ticket a person is working on.
    if let Some(agent_msg) = human_reply_since_bot_took_it(t, &plan.row, policy) {
        let agent_id = agent_msg.sender.as_ref().map_or(0, |s| s.id);
        let trigger = format!("takeover:{}", agent_msg.id);
        let owed = with_owed_handled(t, &plan.row, policy, Vec::new());
        if !owed.is_empty() {
            plan.push(Action::AddTags(owed), &trigger);
        }
        if agent_id != 0 {
            plan.push(Action::AssignUser(agent_id), &trigger);
        }
        plan.enter(
            TicketState::Released,
            StateReason::AgentReplied,
            Rule::AgentReplied,
        );
        mark_handled_through(
            &mut plan.row,
            t.messages.iter().rfind(|m| m.is_from_customer()),
        );
        return plan;
    }

    // 7. Unanswered customer messages.
    let unanswered = unanswered_customer_messages(t, &plan.row, policy);
    if !unanswered.is_empty() {
        customer_turn(input, policy, &mut plan, &unanswered);
        return plan;
    }

    // Nothing new from the customer: deadlines.
    match plan.row.state {
        TicketState::AwaitingEmail => {
            let asked = plan.row.email_requested_at.unwrap_or(input.now);
            if input.now >= later(asked, policy.email_wait) {
                let reason = reason_of(&plan.row);
                let trigger = format!("email_wait:{}", asked.as_microsecond());
                handover(
                    input,
                    policy,
                    &mut plan,
                    reason,
                    &trigger,
                    None,
                    Rule::EmailWaitExpired,
                );
            } else {
                plan.rule = Rule::AwaitingEmail;
            }
        }
        TicketState::AwaitingOrder => orders::number_wait(input, policy, &mut plan),
        TicketState::Answered => {
            // 8. The bot answered last and the customer is silent: idle close.
            let deadline = match plan.row.close_deadline {
                Some(d) => d,
                None => {
                    let d = later(
                        plan.row.last_bot_reply_at.unwrap_or(input.now),
                        policy.close_after,
                    );
                    plan.row.close_deadline = Some(d);
                    d
                }
            };
            if input.now >= deadline {
                let trigger = format!("close:{}", deadline.as_microsecond());
                let mut tags = with_owed_handled(t, &plan.row, policy, Vec::new());
                if !t.has_tag(&policy.tags.auto_closed) {
                    tags.push(policy.tags.auto_closed.clone());
                }
                if !tags.is_empty() {
                    plan.push(Action::AddTags(tags), &trigger);
                }
                plan.push(Action::Close, &trigger);
                plan.row.closes += 1;
                plan.row.close_deadline = None;
                plan.set_state(
                    TicketState::Closed,
                    Some(StateReason::Idle),
                    Rule::IdleClose,
                );
                // The executor adds the lag once the close has landed.
                plan.event(Event::Closed {
                    deadline: Some(deadline),
                    lag_ms: None,
                });
            } else {
                plan.rule = Rule::Waiting;
            }
        }
        _ => plan.rule = Rule::Nothing,
    }
    plan
}

/// Rule 7: one customer turn (every message since the bot's last handling).
fn customer_turn(input: &Input<'_>, policy: &Policy, plan: &mut Plan, unanswered: &[&Message]) {
    let t = input.ticket;
    let latest = unanswered.last().expect("unanswered is not empty");
    let trigger = format!("m{}", latest.id);
    let texts: Vec<String> = unanswered.iter().map(|m| m.text().to_string()).collect();

    if plan.row.state == TicketState::AwaitingEmail {
        let found = texts
            .iter()
            .find_map(|s| crate::responder::email::extract_email(s));
        let reason = reason_of(&plan.row);
        mark_handled_through(&mut plan.row, Some(latest));
        handover(
            input,
            policy,
            plan,
            reason,
            &trigger,
            found,
            Rule::EmailReceived,
        );
        return;
    }

    let earlier: Vec<String> = t
        .messages
        .iter()
        .filter(|m| m.is_from_customer() && !unanswered.iter().any(|u| u.id == m.id))
        .map(|m| m.text().to_string())
        .collect();
    let bot_answered_before = t.messages.iter().any(|m| is_bot_message(m, policy));
    let reason = match intent::classify(&texts, &earlier, bot_answered_before, &policy.intent) {
        Intent::HandoverRequested => Some(HandoverReason::Requested),
        Intent::Frustrated => Some(HandoverReason::Frustrated),
        Intent::SmallTalk(talk) => {
            let after_bot_reply = spoke_last_before(t, unanswered[0], policy);
            small_talk(input, policy, plan, talk, after_bot_reply, latest, &trigger);
            return;
        }
        Intent::None => None,
    };
    if let Some(reason) = reason {
        turn_handover(input, policy, plan, latest, reason, &trigger);
        return;
    }

    if policy.orders.enabled && orders::order_turn(input, policy, plan, &texts, latest, &trigger) {
        return;
    }

    let waiting_since = plan
        .row
        .pending_since
        .or(unanswered.first().and_then(|m| m.created_datetime))
        .unwrap_or(input.now);
    match input.answer {
        // An order lookup answers only an order turn (above); anything else asks the responder.
        Answering::NotAsked | Answering::Orders(_) => {
            plan.rule = Rule::CustomerTurn;
            plan.need_answer = Some(Turn {
                messages: texts,
                history: history(t, unanswered, policy),
                language: t.language.clone(),
                customer_name: t.customer.as_ref().and_then(|c| c.name.clone()),
                ticket_id: Some(t.id),
                customer_email: t.customer.as_ref().and_then(|c| c.email.clone()),
            });
        }
        // The last guard: an answer with a template placeholder left in it (an unrendered macro
        // variable, or one an LLM copied) is never sent; people take the question.
        Answering::Outcome(Outcome::Answer { text, sources, .. })
            if crate::responder::template::has_placeholder(text) =>
        {
            plan.event(Event::UnrenderedAnswer {
                sources: sources.clone(),
            });
            turn_handover(
                input,
                policy,
                plan,
                latest,
                HandoverReason::NoKnowledge,
                &trigger,
            );
        }
        Answering::Outcome(Outcome::Answer {
            text,
            sources,
            score,
        }) => {
            mark_handled_through(&mut plan.row, Some(latest));
            post_answer(
                input,
                policy,
                plan,
                &trigger,
                text.clone(),
                Event::Answered {
                    question: texts.join("\n"),
                    sources: sources.clone(),
                    score: Some(*score),
                    order: None,
                    since: Some(waiting_since),
                    latency_ms: None,
                },
                Rule::CustomerTurn,
            );
        }
        Answering::Outcome(Outcome::NoKnowledge { .. }) => {
            turn_handover(
                input,
                policy,
                plan,
                latest,
                HandoverReason::NoKnowledge,
                &trigger,
            );
        }
        Answering::Outcome(Outcome::Handover(reason)) => {
            turn_handover(input, policy, plan, latest, *reason, &trigger);
        }
        Answering::Failed(why) => {
            // Fail-safe: retry on the next poll, and hand over once the customer has waited
            // `answer_deadline`; never silence, never a close.
            if input.now >= later(waiting_since, policy.answer_deadline) {
                mark_handled_through(&mut plan.row, Some(latest));
                plan.event(Event::ResponderFailed {
                    reason: AfterFailure::HandedOver,
                    error: why.to_string(),
                });
                handover(
                    input,
                    policy,
                    plan,
                    HandoverReason::Error,
                    &trigger,
                    None,
                    Rule::AnswerDeadline,
                );
            } else {
                plan.row.pending_since = Some(waiting_since);
                plan.rule = Rule::ResponderRetry;
                plan.event(Event::ResponderFailed {
                    reason: AfterFailure::Retry,
                    error: why.to_string(),
                });
            }
        }
    }
}

/// The customer's turn (through `latest`) goes to people for `reason`.
fn turn_handover(
    input: &Input<'_>,
    policy: &Policy,
    plan: &mut Plan,
    latest: &Message,
    reason: HandoverReason,
    trigger: &str,
) {
    mark_handled_through(&mut plan.row, Some(latest));
    handover(
        input,
        policy,
        plan,
        reason,
        trigger,
        None,
        Rule::CustomerTurn,
    );
}

/// Posts `text` as the answer to the turn (the Handled tag comes later), arms the idle
/// close and records `answered` (an [`Event::Answered`]; the executor adds the latency once the
/// reply has landed).
pub(super) fn post_answer(
    input: &Input<'_>,
    policy: &Policy,
    plan: &mut Plan,
    trigger: &str,
    text: String,
    answered: Event,
    rule: Rule,
) {
    // The Handled tag rides on a later tag write (see `with_owed_handled`).
    plan.push(Action::Reply(text), trigger);
    plan.row.last_bot_reply_at = Some(input.now);
    plan.row.close_deadline = Some(later(input.now, policy.close_after));
    plan.row.pending_since = None;
    plan.row.answers += 1;
    plan.set_state(TicketState::Answered, Some(StateReason::Answered), rule);
    plan.event(answered);
}

/// Small talk (greetings, thanks, acknowledgements, goodbyes): never a handover, never the
/// responder. A courtesy reply, keyed by the customer message like any reply (or none for thanks
/// right after the bot's reply), and the idle close re-armed from now: the conversation is where
/// it was, and closes as resolved if the customer says nothing more. The Handled tag is neither
/// added (nothing was answered) nor removed (an earlier answer still counts).
fn small_talk(
    input: &Input<'_>,
    policy: &Policy,
    plan: &mut Plan,
    talk: SmallTalk,
    after_bot_reply: bool,
    latest: &Message,
    trigger: &str,
) {
    let t = input.ticket;
    mark_handled_through(&mut plan.row, Some(latest));
    let courtesy = smalltalk::courtesy_for(talk.kind, after_bot_reply);
    if let Some(courtesy) = courtesy {
        // The ticket's language first; else the one the customer's words are in ("merci").
        let language = t.language.as_deref().or(talk.language);
        let set = policy.messages.for_language(language);
        let template = match courtesy {
            Courtesy::Greeting => &set.greeting,
            Courtesy::Thanks => &set.thanks,
            Courtesy::Goodbye => &set.goodbye,
        };
        let name = t.customer.as_ref().and_then(|c| c.name.as_deref());
        let text = render_message(policy, language, template, input.availability, name, None);
        plan.push(Action::Reply(text), trigger);
        plan.row.last_bot_reply_at = Some(input.now);
    }
    plan.row.pending_since = None;
    plan.row.close_deadline = Some(later(input.now, policy.close_after));
    plan.set_state(
        TicketState::Answered,
        Some(StateReason::SmallTalk),
        Rule::SmallTalk,
    );
    plan.event(Event::SmallTalk {
        talk: talk.kind.as_str().to_owned(),
        replied: courtesy.is_some(),
        question: last_customer_text(t),
    });
}

/// Whether the bot's own public reply is the last agent-side message before `first` (the turn's
/// first message): the customer is answering the bot, not a person or an automation.
fn spoke_last_before(t: &Ticket, first: &Message, policy: &Policy) -> bool {
    let first = order_key(first);
    t.messages
        .iter()
        .filter(|m| m.from_agent && !m.is_internal_note() && order_key(m) < first)
        .max_by_key(|m| order_key(m))
        .is_some_and(|m| is_bot_message(m, policy))
}

/// The handover steps: email first (when allowed and missing), then the message that fits the
/// moment, the tag by reason, the release, the internal note; state `escalated`.
pub(super) fn handover(
    input: &Input<'_>,
    policy: &Policy,
    plan: &mut Plan,
    reason: HandoverReason,
    trigger: &str,
    found_email: Option<String>,
    rule: Rule,
) {
    let t = input.ticket;
    let known_email = t
        .customer
        .as_ref()
        .and_then(|c| c.email.clone())
        .filter(|e| !e.trim().is_empty());
    let already_asked = plan.row.email_requested_at.is_some();
    let may_ask = match policy.collect_email {
        crate::config::CollectEmail::Always => true,
        crate::config::CollectEmail::WhenOffline => {
            !matches!(input.availability, Availability::Online)
        }
        crate::config::CollectEmail::Never => false,
    };
    plan.row.pending_since = None;
    plan.row.close_deadline = None;

    if known_email.is_none() && found_email.is_none() && may_ask && !already_asked {
        let text = render(&messages_for(policy, t).email_request, input, None, policy);
        plan.push(Action::Reply(text), trigger);
        plan.row.email_requested_at = Some(input.now);
        plan.set_state(TicketState::AwaitingEmail, Some(reason.into()), rule);
        plan.event(Event::EmailRequested {
            reason,
            question: last_customer_text(t),
        });
        return;
    }

    let mut email_line = match (&known_email, &found_email) {
        (Some(e), _) => format!("customer email: {e}"),
        (None, Some(e)) => format!("customer email (given in chat): {e}"),
        (None, None) if already_asked => "customer email: asked for, not given".to_string(),
        (None, None) => "customer email: unknown".to_string(),
    };
    if let (None, Some(email), Some(customer)) = (&known_email, &found_email, &t.customer) {
        plan.push(
            Action::SetEmail {
                customer_id: customer.id,
                email: email.clone(),
            },
            trigger,
        );
        email_line.push_str(" (saving it on the customer)");
    }

    let email = known_email.as_deref().or(found_email.as_deref());
    let messages = messages_for(policy, t);
    let template = match input.availability {
        Availability::Online => &messages.online,
        Availability::NoAgents => &messages.no_agents,
        Availability::AfterHours { .. } => &messages.after_hours,
    };
    plan.push(
        Action::Reply(render(template, input, email, policy)),
        trigger,
    );
    let tag = match reason {
        // An order handover needs a person to act on the order, not just to check an answer.
        HandoverReason::Requested | HandoverReason::Frustrated | HandoverReason::Order => {
            &policy.tags.agent_required
        }
        _ => &policy.tags.agent_check,
    };
    plan.push(
        Action::AddTags(with_owed_handled(t, &plan.row, policy, vec![tag.clone()])),
        &format!("{trigger}:handover"),
    );
    plan.push(
        Action::Note(internal_note(t, reason, &email_line, input.availability)),
        &format!("{trigger}:handover"),
    );
    // Last: Gorgias may assign an unassigned ticket to whoever writes on it, so every write
    // comes before the release (and the executor checks the assignee it gets back).
    push_release(plan, policy, &format!("{trigger}:handover"));
    plan.row.handovers += 1;
    plan.set_state(TicketState::Escalated, Some(reason.into()), rule);
    plan.event(Event::Handover {
        reason: reason.into(),
        question: Some(last_customer_text(t)),
        availability: Some(input.availability.as_str().to_owned()),
        error: None,
    });
}

/// The handover of a ticket Gorgias sends but the bot cannot decode (a lone surrogate in a
/// message, a malformed datetime), once its answer deadline has passed: tagged for a check, an
/// internal note saying so, released. No reply: the bot can read neither what the customer
/// wrote nor the channel to answer on. `version` (what Gorgias listed as the ticket's
/// `updated_datetime`) keys the writes, so one unreadable version is handed over once.
pub fn unreadable_handover(
    ticket_id: u64,
    row: Option<&TicketRow>,
    now: Timestamp,
    policy: &Policy,
    version: &str,
    error: &str,
) -> Plan {
    let mut row = row
        .cloned()
        .unwrap_or_else(|| TicketRow::new(ticket_id, now));
    row.updated_at = Some(now);
    row.pending_since = None;
    row.close_deadline = None;
    let mut plan = Plan::new(row);
    let version: String = version
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '.' | '+'))
        .take(40)
        .collect();
    let trigger = format!("unreadable:{version}");
    let error: String = error.chars().take(200).collect();
    plan.push(
        Action::AddTags(vec![policy.tags.agent_check.clone()]),
        &trigger,
    );
    plan.push(
        Action::Note(format!(
            "PerfectBot handover (unreadable): Gorgias returned this ticket in a form the bot \
             could not read, so it has not answered it.\nerror: {error}"
        )),
        &trigger,
    );
    push_release(&mut plan, policy, &trigger);
    plan.row.handovers += 1;
    plan.set_state(
        TicketState::Escalated,
        Some(StateReason::Unreadable),
        Rule::Unreadable,
    );
    plan.event(Event::Handover {
        reason: StateReason::Unreadable,
        question: None,
        availability: None,
        error: Some(error),
    });
    plan
}

/// Unassign, or assign to the configured team or user.
fn push_release(plan: &mut Plan, policy: &Policy, trigger: &str) {
    let action = match (policy.assign_team_id, policy.assign_user_id) {
        (Some(team), _) => Action::AssignTeam(team),
        (None, Some(user)) => Action::AssignUser(user),
        (None, None) => Action::Unassign,
    };
    plan.push(action, trigger);
}

/// The handover templates in the ticket's language (Gorgias's `language`, e.g. "fr-FR"), or
/// the default ones.
fn messages_for<'p>(policy: &'p Policy, t: &Ticket) -> &'p crate::config::MessageTemplates {
    policy.messages.for_language(t.language.as_deref())
}

fn render(template: &str, input: &Input<'_>, email: Option<&str>, policy: &Policy) -> String {
    let t = input.ticket;
    let name = t.customer.as_ref().and_then(|c| c.name.as_deref());
    render_message(
        policy,
        t.language.as_deref(),
        template,
        input.availability,
        name,
        email,
    )
}

/// Fills a handover template picked for a ticket in `language` (a Gorgias tag, as given to
/// [`Messages::for_language`]): `{next_open}` in words, `{customer_name}`, `{email}`, with the
/// language's fill-in words where a value is missing ([`crate::config::FillIns`]).
///
/// The words follow the template's language, not blindly the ticket's: a template that is the
/// default set's own text (a language with no set of its own, or a team's customised default
/// that reaches every language) gets the English words, as it always has; the ticket's language
/// otherwise. Pure, so preview shows exactly what the daemon would write.
pub fn render_message(
    policy: &Policy,
    language: Option<&str>,
    template: &str,
    availability: &Availability,
    customer_name: Option<&str>,
    email: Option<&str>,
) -> String {
    let code = language.and_then(crate::lang::language_code);
    let d = &policy.messages.default;
    let default_text = [
        &d.online,
        &d.no_agents,
        &d.after_hours,
        &d.email_request,
        &d.greeting,
        &d.thanks,
        &d.goodbye,
    ]
    .iter()
    .any(|x| x.as_str() == template);
    let words_language = code.filter(|_| !default_text);
    let words = crate::config::FillIns::for_language(words_language.as_deref());
    let next_open = match availability {
        Availability::AfterHours { next_open: Some(n) } => n.describe(words_language.as_deref()),
        _ => words.next_open.to_string(),
    };
    let name = customer_name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(words.customer_name);
    let mut text = template.replace("{next_open}", &next_open);
    if name.is_empty() {
        // No stand-in word in this language: "Hallo {customer_name}," reads "Hallo,".
        text = text.replace(" {customer_name}", "");
    }
    text.replace("{customer_name}", name)
        .replace("{email}", email.unwrap_or(words.email))
}

fn internal_note(
    t: &Ticket,
    reason: HandoverReason,
    email_line: &str,
    availability: &Availability,
) -> String {
    let why = match reason {
        HandoverReason::Requested => "the customer asked for a person",
        HandoverReason::Frustrated => "the customer seems frustrated",
        HandoverReason::NoKnowledge => "the knowledge base has no answer to this question",
        HandoverReason::Error => "the bot could not produce an answer in time",
        HandoverReason::Automation => "a Gorgias rule or flow handled this ticket",
        HandoverReason::Order => "an order question needs a person (see the order note)",
    };
    let mut summary = last_customer_text(t);
    if summary.chars().count() > 300 {
        summary = summary.chars().take(300).collect::<String>() + "…";
    }
    format!(
        "PerfectBot handover ({}): {why}.\n{email_line}\nagents: {}\nlast customer message: {summary}",
        reason.as_str(),
        availability.as_str()
    )
}

pub(super) fn last_customer_text(t: &Ticket) -> String {
    t.messages
        .iter()
        .rfind(|m| m.is_from_customer())
        .map(|m| m.text().trim().to_string())
        .unwrap_or_default()
}

/// The handover reason a ticket waiting for an email was given when the bot asked for it.
/// `AwaitingEmail` is only ever entered with one ([`handover`]); a row in that state without
/// one (edited by hand) is handed over as `requested`, which puts a person on it like any other
/// reason would.
fn reason_of(row: &TicketRow) -> HandoverReason {
    row.reason
        .and_then(StateReason::handover)
        .unwrap_or(HandoverReason::Requested)
}

/// A public message written by the bot user.
fn is_bot_message(m: &Message, policy: &Policy) -> bool {
    m.is_public_by(policy.bot_user_id)
}

/// The latest public agent-side message (bot, agent, rule, flow or macro).
fn last_agent_side(t: &Ticket) -> Option<&Message> {
    t.messages
        .iter()
        .rfind(|m| m.from_agent && !m.is_internal_note())
}

/// A public reply by a human agent (not the bot, not automation) written after the bot took the
/// ticket (first sight or return).
fn human_reply_since_bot_took_it<'t>(
    t: &'t Ticket,
    row: &TicketRow,
    policy: &Policy,
) -> Option<&'t Message> {
    let since = row.returned_at.or(row.created_at)?;
    t.messages.iter().rev().find(|m| {
        m.from_agent
            && !m.is_internal_note()
            && !m.is_automation()
            && m.sender.as_ref().is_none_or(|s| s.id != policy.bot_user_id)
            && m.created_datetime.is_some_and(|c| c > since)
    })
}

/// Customer messages nobody has handled: newer than the ledger's watermark and newer than the
/// last public message of a person or automation (their reply answers what came before it).
/// The bot's own replies do not count here: what the bot handled is the ledger's watermark, so
/// that a plan interrupted after its reply is re-planned identically (and its reply, keyed by the
/// customer message, is not sent twice).
fn unanswered_customer_messages<'t>(
    t: &'t Ticket,
    row: &TicketRow,
    policy: &Policy,
) -> Vec<&'t Message> {
    let last_agent = t
        .messages
        .iter()
        .filter(|m| m.from_agent && !m.is_internal_note() && !is_bot_message(m, policy))
        .map(order_key)
        .max();
    let watermark = match (row.last_customer_msg_at, row.last_customer_msg_id) {
        (Some(at), Some(id)) => Some((at, id)),
        _ => None,
    };
    t.messages
        .iter()
        .filter(|m| m.is_from_customer())
        .filter(|m| watermark.is_none_or(|w| order_key(m) > w))
        .filter(|m| last_agent.is_none_or(|a| order_key(m) > a))
        .collect()
}

fn order_key(m: &Message) -> (Timestamp, u64) {
    (m.created_datetime.unwrap_or(Timestamp::UNIX_EPOCH), m.id)
}

/// `tags` plus the Handled tag when the bot has answered this ticket and the tag is not on it
/// yet. Handled is not a request of its own after an answer: it rides on the next tag write
/// that happens anyway (the idle close's Auto-closed, a handover's escalation tag, a takeover),
/// which saves one request per conversation. A ticket someone else closes or reassigns first
/// is not the bot's to write on, so it goes without Handled. Tags are added (`POST .../tags`),
/// never replaced, so a tag someone else set meanwhile survives.
pub(super) fn with_owed_handled(
    t: &Ticket,
    row: &TicketRow,
    policy: &Policy,
    mut tags: Vec<String>,
) -> Vec<String> {
    if row.answers > 0 && !t.has_tag(&policy.tags.handled) && !tags.contains(&policy.tags.handled) {
        tags.insert(0, policy.tags.handled.clone());
    }
    tags
}

pub(crate) fn mark_handled_through(row: &mut TicketRow, m: Option<&Message>) {
    if let Some(m) = m {
        let (at, id) = order_key(m);
        row.last_customer_msg_id = Some(id);
        row.last_customer_msg_at = Some(at);
    }
}

/// The conversation before the current turn, for the responder.
fn history(t: &Ticket, unanswered: &[&Message], policy: &Policy) -> Vec<(Speaker, String)> {
    t.messages
        .iter()
        .filter(|m| !m.is_internal_note() && !unanswered.iter().any(|u| u.id == m.id))
        .map(|m| {
            let who = if m.is_from_customer() {
                Speaker::Customer
            } else if is_bot_message(m, policy) {
                Speaker::Bot
            } else {
                Speaker::Agent
            };
            (who, m.text().to_string())
        })
        .collect()
}

/// `at + d`, held at the ends of the calendar instead of overflowing: timestamps come from
/// Gorgias (a message dated 9999-12-31) and durations from the config, and deadline arithmetic
/// must never panic on either.
pub fn later(at: Timestamp, d: SignedDuration) -> Timestamp {
    at.checked_add(d).unwrap_or(if d.is_negative() {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// How long until `deadline`, never negative.
pub fn until(now: Timestamp, deadline: Timestamp) -> SignedDuration {
    let d = deadline - now;
    if d.is_negative() {
        SignedDuration::ZERO
    } else {
        d
    }
}
