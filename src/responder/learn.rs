//! Learning from internal notes: an agent's internal note that starts with `kb.note_prefix`
//! (default `#kb`) becomes a knowledge entry, the ticket's last customer question before the
//! note -> the note's text without the prefix. This is how a team fills a knowledge gap from
//! inside Gorgias.
//!
//! [`harvest`] is pure: it reads one full ticket and returns the notes found. Storing them
//! (ledger `kb_learned`) and rebuilding the knowledge base is the daemon's job; this module
//! must not touch the ledger, Gorgias or the clock.

use crate::gorgias::{Message, Ticket};

use super::kb::KbEntry;

/// One learned question/answer pair, from one internal note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedNote {
    pub ticket_id: u64,
    pub message_id: u64,
    /// The customer's last message before the note.
    pub question: String,
    /// The note's text, prefix stripped.
    pub answer: String,
}

impl LearnedNote {
    /// The entry id: `note:<message id>`. Stable across edits, so an edited note replaces its
    /// entry instead of adding one.
    pub fn id(&self) -> String {
        note_id(self.message_id)
    }

    /// The knowledge entry for this note.
    pub fn to_entry(&self) -> KbEntry {
        KbEntry {
            id: self.id(),
            question: self.question.clone(),
            answer: self.answer.clone(),
            keywords: vec![],
            language: None,
            source: source_of(self.ticket_id, self.message_id),
        }
    }
}

/// The entry id of the note with this message id.
pub fn note_id(message_id: u64) -> String {
    format!("note:{message_id}")
}

/// Where a learned entry came from, as `kb list` and answers' sources show it.
pub fn source_of(ticket_id: u64, message_id: u64) -> String {
    format!("ticket {ticket_id} message {message_id}")
}

/// The `prefix` notes of `ticket`, each paired with the last customer message before it.
/// Notes by the bot itself, notes with nothing after the prefix and notes with no customer
/// message before them are skipped. Messages are read in the ticket's order (Gorgias lists
/// them oldest first).
pub fn harvest(ticket: &Ticket, prefix: &str, bot_user_id: u64) -> Vec<LearnedNote> {
    let mut out = Vec::new();
    let mut question: Option<String> = None;
    for m in &ticket.messages {
        if m.is_from_customer() && !is_from(m, bot_user_id) {
            let text = m.text();
            if !text.trim().is_empty() {
                question = Some(text.trim().to_owned());
            }
            continue;
        }
        if !m.is_internal_note() || !m.from_agent || is_from(m, bot_user_id) {
            continue;
        }
        let (Some(answer), Some(q)) = (strip_prefix(&m.text(), prefix), question.as_deref()) else {
            continue;
        };
        out.push(LearnedNote {
            ticket_id: ticket.id,
            message_id: m.id,
            question: q.to_owned(),
            answer,
        });
    }
    out
}

fn is_from(m: &Message, user_id: u64) -> bool {
    m.sender.as_ref().is_some_and(|s| s.id == user_id)
}

/// The note's text after `prefix` (ASCII case-insensitive, leading blanks allowed), trimmed,
/// with one `:` after the prefix dropped. `None` when the note does not start with the prefix
/// as a whole word (`#kbase` is not `#kb`) or nothing follows it.
fn strip_prefix(text: &str, prefix: &str) -> Option<String> {
    let text = text.trim_start();
    let prefix = prefix.trim();
    let head = text.get(..prefix.len())?;
    if prefix.is_empty() || !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = &text[prefix.len()..];
    if rest.chars().next().is_some_and(char::is_alphanumeric) {
        return None;
    }
    let rest = rest.strip_prefix(':').unwrap_or(rest).trim();
    (!rest.is_empty()).then(|| rest.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gorgias::UserRef;

    const BOT: u64 = 1;
    const AGENT: u64 = 2;

    fn customer(id: u64, text: &str) -> Message {
        Message {
            id,
            public: Some(true),
            from_agent: false,
            body_text: Some(text.into()),
            ..Message::default()
        }
    }

    fn note(id: u64, by: u64, text: &str) -> Message {
        Message {
            id,
            public: Some(false),
            channel: Some("internal-note".into()),
            from_agent: true,
            sender: Some(UserRef {
                id: by,
                ..UserRef::default()
            }),
            body_text: Some(text.into()),
            ..Message::default()
        }
    }

    fn reply(id: u64, by: u64, text: &str) -> Message {
        Message {
            public: Some(true),
            channel: Some("chat".into()),
            ..note(id, by, text)
        }
    }

    fn ticket(messages: Vec<Message>) -> Ticket {
        Ticket {
            id: 7,
            messages,
            ..Ticket::default()
        }
    }

    #[test]
    fn prefixed_note_pairs_with_the_last_customer_question_before_it() {
        let t = ticket(vec![
            customer(10, "hello"),
            customer(11, "Do you sponsor sports teams?"),
            reply(12, BOT, "Let me get someone."),
            note(13, AGENT, "#kb  We do not sponsor teams, sorry!  "),
            customer(14, "ok thanks, and gift cards?"),
        ]);
        let found = harvest(&t, "#kb", BOT);
        assert_eq!(
            found,
            vec![LearnedNote {
                ticket_id: 7,
                message_id: 13,
                question: "Do you sponsor sports teams?".into(),
                answer: "We do not sponsor teams, sorry!".into(),
            }]
        );
        let entry = found[0].to_entry();
        assert_eq!(entry.id, "note:13");
        assert_eq!(entry.source, "ticket 7 message 13");
    }

    #[test]
    fn prefix_matches_in_any_case_but_only_as_a_whole_word() {
        let t = ticket(vec![
            customer(1, "question"),
            note(2, AGENT, "#KB: Upper case works"),
            note(3, AGENT, "#kbase is another word"),
            note(4, AGENT, "see #kb later in the text"),
            note(5, AGENT, "#kb"),
            note(6, AGENT, "  #Kb\nnext line answer"),
        ]);
        let found = harvest(&t, "#kb", BOT);
        let got: Vec<(u64, &str)> = found
            .iter()
            .map(|n| (n.message_id, n.answer.as_str()))
            .collect();
        assert_eq!(got, vec![(2, "Upper case works"), (6, "next line answer")]);
        assert!(harvest(&t, "!learn", BOT).is_empty());
    }

    #[test]
    fn notes_by_the_bot_public_replies_and_notes_without_a_question_are_skipped() {
        let t = ticket(vec![
            note(1, AGENT, "#kb no question before me"),
            customer(2, "Where is my parcel?"),
            note(3, BOT, "#kb the bot's own note"),
            reply(4, AGENT, "#kb a public reply is not a note"),
            Message {
                from_agent: false,
                ..note(5, 99, "#kb a note not from the agent side")
            },
        ]);
        assert!(harvest(&t, "#kb", BOT).is_empty());
    }

    #[test]
    fn customer_messages_sent_by_the_bot_user_are_not_questions() {
        // A message the bot posted for the customer (not from_agent) must not become the
        // question: only the customer's own words are.
        let mut by_bot = customer(2, "bot text");
        by_bot.sender = Some(UserRef {
            id: BOT,
            ..UserRef::default()
        });
        let t = ticket(vec![
            customer(1, "Can I pay by cheque?"),
            by_bot,
            note(3, AGENT, "#kb No cheques."),
        ]);
        assert_eq!(harvest(&t, "#kb", BOT)[0].question, "Can I pay by cheque?");
    }

    #[test]
    fn edited_note_keeps_its_id_and_deleted_note_is_absent() {
        let before = ticket(vec![customer(1, "q?"), note(2, AGENT, "#kb old answer")]);
        let after = ticket(vec![customer(1, "q?"), note(2, AGENT, "#kb new answer")]);
        let a = harvest(&before, "#kb", BOT);
        let b = harvest(&after, "#kb", BOT);
        assert_eq!(a[0].id(), b[0].id());
        assert_eq!(b[0].answer, "new answer");
        let deleted = ticket(vec![customer(1, "q?")]);
        assert!(harvest(&deleted, "#kb", BOT).is_empty());
    }
}
