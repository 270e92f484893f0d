//! Gorgias template variables in knowledge answers (macros hold `{{ticket.customer.firstname}}`
//! and the like): rendered per turn from what the bot knows of the ticket, or refused. Pure.
//!
//! The promise: an answer with a `{{...}}` left in it never reaches a customer. [`render`]
//! fails on a variable it does not know or has no value for (the responder then does not use
//! that entry for this ticket), and [`has_placeholder`] is the last guard where an answer
//! becomes a reply (`engine`).

use super::Turn;

/// Renders every `{{ variable }}` of `text` from `turn`. Known variables:
/// `ticket.id`, `ticket.customer.name`, `ticket.customer.firstname`,
/// `ticket.customer.lastname`, `ticket.customer.email`. Err names the first variable that has
/// no value here (unknown, or unknown for this ticket).
pub fn render(text: &str, turn: &Turn) -> Result<String, String> {
    if !text.contains("{{") {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(format!("an unclosed {{{{ in {:?}", clip(after)));
        };
        let name = after[..end].trim();
        match value(name, turn) {
            Some(v) => out.push_str(&v),
            None => return Err(name.to_owned()),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether `text` still holds a template placeholder (`{{` ... `}}`, or a lone `{{`).
pub fn has_placeholder(text: &str) -> bool {
    text.contains("{{")
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

fn value(name: &str, turn: &Turn) -> Option<String> {
    let full = turn
        .customer_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty() && !n.contains('@'));
    let known = |s: Option<String>| s.filter(|v| !v.trim().is_empty());
    match name {
        "ticket.id" => turn.ticket_id.map(|id| id.to_string()),
        "ticket.customer.name" => full.map(str::to_owned),
        "ticket.customer.firstname" | "ticket.customer.first_name" => full
            .and_then(|n| n.split_whitespace().next())
            .map(str::to_owned),
        "ticket.customer.lastname" | "ticket.customer.last_name" => {
            known(full.map(|n| n.split_whitespace().skip(1).collect::<Vec<_>>().join(" ")))
        }
        "ticket.customer.email" => known(turn.customer_email.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn() -> Turn {
        Turn {
            ticket_id: Some(42),
            customer_name: Some("Ada Lovelace".into()),
            customer_email: Some("ada@example.com".into()),
            ..Turn::default()
        }
    }

    #[test]
    fn known_variables_render() {
        let t = "Hi {{ticket.customer.firstname}} ({{ ticket.customer.lastname }}), ticket \
                 {{ticket.id}}, we wrote to {{ticket.customer.email}}.";
        assert_eq!(
            render(t, &turn()).unwrap(),
            "Hi Ada (Lovelace), ticket 42, we wrote to ada@example.com."
        );
        assert_eq!(render("no vars", &Turn::default()).unwrap(), "no vars");
    }

    #[test]
    fn an_unknown_variable_or_value_refuses_the_text() {
        assert_eq!(
            render("Hi {{ticket.customer.firstname}}", &Turn::default()).unwrap_err(),
            "ticket.customer.firstname"
        );
        assert_eq!(
            render("From {{current_user.firstname}}", &turn()).unwrap_err(),
            "current_user.firstname"
        );
        let one_word = Turn {
            customer_name: Some("Ada".into()),
            ..Turn::default()
        };
        assert!(render("{{ticket.customer.lastname}}", &one_word).is_err());
        // A name that is an email address is not a name.
        let email_name = Turn {
            customer_name: Some("ada@example.com".into()),
            ..Turn::default()
        };
        assert!(render("Hi {{ticket.customer.firstname}}", &email_name).is_err());
        assert!(render("Hi {{ticket.customer.firstname", &turn()).is_err());
    }

    #[test]
    fn placeholders_are_detected() {
        assert!(has_placeholder("Hi {{ticket.customer.firstname}}"));
        assert!(has_placeholder("broken {{"));
        assert!(!has_placeholder("Hi Ada, {curly} is fine"));
    }
}
