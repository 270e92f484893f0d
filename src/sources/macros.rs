//! Gorgias macros as knowledge entries. Pure: macros in, entries and the reasons some were
//! left out. One entry per macro that is not archived and has a response text
//! (`setResponseText`): its name is the question, its text the answer (the HTML body turned to
//! text when the plain one is empty), its language kept. Template variables stay in the text:
//! they are rendered per ticket by the responder (`responder::template`).

use crate::gorgias::Macro;
use crate::responder::kb::KbEntry;

/// The import's filters (`kb.macro_name_prefix`, `kb.macro_languages`).
#[derive(Debug, Clone, Default)]
pub struct MacroFilter {
    pub name_prefix: Option<String>,
    /// Lowercase; empty = every language. When set, a macro without a language is left out.
    pub languages: Vec<String>,
}

/// Why a macro gave no entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Retired: never used again.
    Archived,
    /// Left out by `kb.macro_name_prefix` or `kb.macro_languages` (not worth a log line).
    Filtered,
    /// No `setResponseText` action (only tags, status, HTTP or unknown actions).
    NoResponseText { actions: Vec<String> },
    /// A response text that is empty once trimmed (both the text and the HTML body).
    EmptyText,
    /// No name to use as the question.
    NoName,
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::Archived => f.write_str("archived"),
            Skip::Filtered => f.write_str("left out by kb.macro_name_prefix / kb.macro_languages"),
            Skip::NoResponseText { actions } if actions.is_empty() => {
                f.write_str("has no actions, so no response text")
            }
            Skip::NoResponseText { actions } => write!(
                f,
                "has no setResponseText action (only {}), so no response text",
                actions.join(", ")
            ),
            Skip::EmptyText => f.write_str("has an empty response text"),
            Skip::NoName => f.write_str("has no name to use as the question"),
        }
    }
}

/// The entry id (and source) of a macro.
pub fn entry_id(macro_id: u64) -> String {
    format!("macro:{macro_id}")
}

/// The entry for one macro, or why there is none.
pub fn entry(m: &Macro, filter: &MacroFilter) -> Result<KbEntry, Skip> {
    if m.archived_datetime.is_some() {
        return Err(Skip::Archived);
    }
    let language = m
        .language
        .as_deref()
        .map(|l| l.trim().to_lowercase())
        .filter(|l| !l.is_empty());
    let mut question = m.name.trim();
    if let Some(prefix) = &filter.name_prefix {
        match question.strip_prefix(prefix.as_str()) {
            Some(rest) => question = rest.trim(),
            None => return Err(Skip::Filtered),
        }
    }
    if !filter.languages.is_empty()
        && !language
            .as_ref()
            .is_some_and(|l| filter.languages.contains(l))
    {
        return Err(Skip::Filtered);
    }
    let texts: Vec<String> = m
        .actions
        .iter()
        .filter(|a| a.name == "setResponseText")
        .map(|a| response_text(&a.arguments))
        .collect();
    if texts.is_empty() {
        return Err(Skip::NoResponseText {
            actions: m
                .actions
                .iter()
                .map(|a| {
                    if a.name.is_empty() {
                        "an unnamed action".to_owned()
                    } else {
                        a.name.clone()
                    }
                })
                .collect(),
        });
    }
    let answer = texts
        .into_iter()
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    if answer.is_empty() {
        return Err(Skip::EmptyText);
    }
    if question.is_empty() {
        return Err(Skip::NoName);
    }
    let id = entry_id(m.id);
    Ok(KbEntry {
        id: id.clone(),
        question: question.to_owned(),
        answer,
        keywords: vec![],
        language,
        source: id,
    })
}

/// The text of a `setResponseText` action: `body_text`, else `body_html` turned to text.
fn response_text(arguments: &serde_json::Value) -> String {
    let field = |k: &str| {
        arguments
            .get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .unwrap_or("")
    };
    let text = field("body_text");
    if !text.is_empty() {
        return text.to_owned();
    }
    let html = field("body_html");
    if html.is_empty() {
        return String::new();
    }
    super::html::fragment_text(html).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mac(v: serde_json::Value) -> Macro {
        serde_json::from_value(v).unwrap()
    }

    fn text_action(text: &str, html: &str) -> serde_json::Value {
        json!({"type": "user", "name": "setResponseText",
               "arguments": {"body_text": text, "body_html": html}})
    }

    #[test]
    fn a_macro_with_a_response_text_is_one_entry() {
        let m = mac(json!({
            "id": 7, "name": "Where is my parcel?", "language": "EN",
            "actions": [
                {"type": "user", "name": "addTags", "arguments": {"tags": "wismo,shipping"}},
                text_action("Hi {{ticket.customer.firstname}}, it ships in 2 days.", "<p>x</p>")
            ]
        }));
        let e = entry(&m, &MacroFilter::default()).unwrap();
        assert_eq!(e.id, "macro:7");
        assert_eq!(e.source, "macro:7");
        assert_eq!(e.question, "Where is my parcel?");
        assert_eq!(
            e.answer,
            "Hi {{ticket.customer.firstname}}, it ships in 2 days."
        );
        assert_eq!(e.language.as_deref(), Some("en"));
    }

    #[test]
    fn html_only_empty_archived_and_actionless_macros() {
        let html_only = mac(json!({"id": 1, "name": "Gift wrap",
            "actions": [text_action("", "<p>Yes, <b>free</b> gift wrap.</p>")]}));
        assert_eq!(
            entry(&html_only, &MacroFilter::default()).unwrap().answer,
            "Yes, free gift wrap."
        );
        let empty = mac(json!({"id": 2, "name": "Empty",
            "actions": [text_action("  ", "<p> </p>")]}));
        assert_eq!(entry(&empty, &MacroFilter::default()), Err(Skip::EmptyText));
        let unknown = mac(json!({"id": 3, "name": "Close it",
            "actions": [{"type": "user", "name": "setStatus", "arguments": {"status": "closed"}},
                        {"type": "system", "name": "frobnicate", "arguments": 12},
                        {"weird": true}]}));
        let skip = entry(&unknown, &MacroFilter::default()).unwrap_err();
        assert_eq!(
            skip.to_string(),
            "has no setResponseText action (only setStatus, frobnicate, an unnamed action), so no response text"
        );
        let archived = mac(
            json!({"id": 4, "name": "Old", "archived_datetime": "2024-01-01T00:00:00",
            "actions": [text_action("old text", "")]}),
        );
        assert_eq!(
            entry(&archived, &MacroFilter::default()),
            Err(Skip::Archived)
        );
        let nameless = mac(json!({"id": 5, "name": " ", "actions": [text_action("t", "")]}));
        assert_eq!(entry(&nameless, &MacroFilter::default()), Err(Skip::NoName));
    }

    #[test]
    fn filters_pick_by_name_prefix_and_language() {
        let f = MacroFilter {
            name_prefix: Some("FAQ: ".into()),
            languages: vec!["fr".into()],
        };
        let m = |name: &str, lang: Option<&str>| {
            mac(json!({"id": 9, "name": name, "language": lang,
                       "actions": [text_action("t", "")]}))
        };
        assert_eq!(
            entry(&m("FAQ: Livraison ?", Some("fr")), &f)
                .unwrap()
                .question,
            "Livraison ?"
        );
        assert_eq!(
            entry(&m("Livraison ?", Some("fr")), &f),
            Err(Skip::Filtered)
        );
        assert_eq!(
            entry(&m("FAQ: Shipping", Some("en")), &f),
            Err(Skip::Filtered)
        );
        assert_eq!(entry(&m("FAQ: Shipping", None), &f), Err(Skip::Filtered));
    }
}
