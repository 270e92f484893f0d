//! What a ticket's listing says about it, in one string: status, channel, assignee, team, tags
//! and message count. The poll compares the listing's fingerprint with the one the ledger
//! expects after the bot's own writes, so the bot's writes do not cost a full read on the next
//! poll. A wrong guess only costs one read; it never hides a change (any customer message, tag,
//! assignment or status change alters the string).

use super::{Action, Step};
use crate::gorgias::Ticket;

/// The ticket's fingerprint, or `None` when the listing lacks a message count (then the poll
/// falls back to `updated_datetime`).
pub fn fingerprint(t: &Ticket) -> Option<String> {
    let count = t
        .messages_count
        .or_else(|| (!t.messages.is_empty()).then_some(t.messages.len() as u64))?;
    let mut tags: Vec<&str> = t.tags.iter().map(|x| x.name.as_str()).collect();
    tags.sort_unstable();
    tags.dedup();
    Some(render(
        &t.status,
        t.channel.as_deref().unwrap_or(""),
        t.assignee_user.as_ref().map(|u| u.id),
        t.assignee_team.as_ref().map(|x| x.id),
        &tags,
        count,
    ))
}

/// The fingerprint the listing should show once `steps` are done on the full ticket `t`.
pub fn fingerprint_after(t: &Ticket, steps: &[Step]) -> Option<String> {
    let mut count = t
        .messages_count
        .unwrap_or(t.messages.len() as u64)
        .max(t.messages.len() as u64);
    let mut status = t.status.clone();
    let mut user = t.assignee_user.as_ref().map(|u| u.id);
    let mut team = t.assignee_team.as_ref().map(|x| x.id);
    let mut tags: Vec<String> = t.tags.iter().map(|x| x.name.clone()).collect();
    for s in steps {
        match &s.action {
            Action::Reply(_) | Action::Note(_) => count += 1,
            Action::AddTags(names) => tags.extend(names.iter().cloned()),
            Action::RemoveTags(names) => tags.retain(|x| !names.contains(x)),
            Action::Unassign => user = None,
            Action::AssignUser(id) => user = Some(*id),
            Action::AssignTeam(id) => {
                team = Some(*id);
                user = None;
            }
            Action::Close => status = "closed".into(),
            Action::SetEmail { .. } => {}
        }
    }
    let mut tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    tags.sort_unstable();
    tags.dedup();
    Some(render(
        &status,
        t.channel.as_deref().unwrap_or(""),
        user,
        team,
        &tags,
        count,
    ))
}

fn render(
    status: &str,
    channel: &str,
    user: Option<u64>,
    team: Option<u64>,
    tags: &[&str],
    count: u64,
) -> String {
    let id = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    format!(
        "{status}|{channel}|{}|{}|{count}|{}",
        id(user),
        id(team),
        tags.join("\u{1f}")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gorgias::{Message, Tag, UserRef};

    fn ticket() -> Ticket {
        Ticket {
            id: 1,
            status: "open".into(),
            channel: Some("chat".into()),
            assignee_user: Some(UserRef {
                id: 5,
                ..Default::default()
            }),
            tags: vec![Tag {
                id: None,
                name: "b".into(),
            }],
            messages: vec![Message::default()],
            ..Default::default()
        }
    }

    #[test]
    fn the_listing_after_the_bots_writes_matches_the_expectation() {
        let t = ticket();
        let steps = vec![
            Step {
                action: Action::Reply("hi".into()),
                trigger: "m1".into(),
            },
            Step {
                action: Action::AddTags(vec!["a".into()]),
                trigger: "m1:x".into(),
            },
            Step {
                action: Action::Unassign,
                trigger: "m1:x".into(),
            },
        ];
        let mut listed = t.clone();
        listed.messages.clear();
        listed.messages_count = Some(2);
        listed.assignee_user = None;
        listed.tags.insert(
            0,
            Tag {
                id: Some(3),
                name: "a".into(),
            },
        );
        assert_eq!(fingerprint(&listed), fingerprint_after(&t, &steps));
    }

    #[test]
    fn any_other_change_alters_the_fingerprint() {
        let base = fingerprint(&ticket());
        let mut more = ticket();
        more.messages.push(Message::default());
        assert_ne!(fingerprint(&more), base, "a new message");
        let mut tagged = ticket();
        tagged.tags.push(Tag {
            id: None,
            name: "c".into(),
        });
        assert_ne!(fingerprint(&tagged), base, "a new tag");
        let mut taken = ticket();
        taken.assignee_user = Some(UserRef {
            id: 6,
            ..Default::default()
        });
        assert_ne!(fingerprint(&taken), base, "a new assignee");
        let mut closed = ticket();
        closed.status = "closed".into();
        assert_ne!(fingerprint(&closed), base, "closed");
        let mut compact = ticket();
        compact.messages.clear();
        assert_eq!(fingerprint(&compact), None, "no count, no fingerprint");
    }
}
