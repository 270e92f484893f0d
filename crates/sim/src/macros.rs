//! The simulated account's macros: `GET /api/macros` (a cursor list with `search` and
//! `languages`, archived macros included with `archived_datetime` set: the reader decides) and
//! `GET /api/macros/{id}`, in the shape of the API facts; and [`Sim`] methods that create, edit,
//! archive and delete macros while the simulator runs (tests, the demo).

use jiff::Timestamp;
use serde_json::{Value, json};

use super::Sim;
use super::state::{State, fmt_ts};

/// One macro as the simulated account keeps it.
#[derive(Debug, Clone)]
pub(crate) struct SimMacro {
    pub id: u64,
    pub name: String,
    pub language: Option<String>,
    pub intent: Option<String>,
    pub usage: u64,
    pub archived: Option<Timestamp>,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// The actions, as the API returns them.
    pub actions: Vec<Value>,
}

impl SimMacro {
    pub(crate) fn json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "intent": self.intent,
            "language": self.language,
            "usage": self.usage,
            "archived_datetime": self.archived.map(fmt_ts),
            "created_datetime": fmt_ts(self.created),
            "updated_datetime": fmt_ts(self.updated),
            "external_id": null,
            "uri": format!("/api/macros/{}/", self.id),
            "actions": self.actions,
        })
    }
}

/// A macro to create: a name, a response text (plain and optional HTML) and a language.
#[derive(Debug, Clone, Default)]
pub struct NewMacro {
    pub name: String,
    pub language: Option<String>,
    /// The `setResponseText` action's `body_text`.
    pub text: String,
    /// Its `body_html` (default: the text in a paragraph).
    pub html: Option<String>,
    /// Actions as raw JSON instead of the response text (bad-input tests: only tags, unknown
    /// actions...). When set, `text` and `html` are ignored.
    pub raw_actions: Option<Vec<Value>>,
}

/// The `setResponseText` action for a text and its HTML.
pub fn response_text_action(text: &str, html: &str) -> Value {
    json!({
        "type": "user",
        "name": "setResponseText",
        "title": "Add response text",
        "arguments": {"body_text": text, "body_html": html}
    })
}

fn actions_of(m: &NewMacro) -> Vec<Value> {
    match &m.raw_actions {
        Some(a) => a.clone(),
        None => {
            let html = m
                .html
                .clone()
                .unwrap_or_else(|| format!("<p>{}</p>", m.text));
            vec![response_text_action(&m.text, &html)]
        }
    }
}

impl State {
    /// `GET /api/macros` items: `search` (in the name, any case) and `languages` applied.
    pub(crate) fn macro_items(
        &self,
        search: Option<&str>,
        languages: &[String],
    ) -> Vec<(u64, Value)> {
        let search = search.map(str::to_lowercase).filter(|s| !s.is_empty());
        self.macros
            .values()
            .filter(|m| {
                search
                    .as_ref()
                    .is_none_or(|s| m.name.to_lowercase().contains(s))
            })
            .filter(|m| {
                languages.is_empty() || m.language.as_ref().is_some_and(|l| languages.contains(l))
            })
            .map(|m| (m.id, m.json()))
            .collect()
    }
}

impl Sim {
    /// Creates a macro; returns its id.
    pub fn create_macro(&self, m: NewMacro) -> u64 {
        let mut st = self.state();
        let id = st.id("macro");
        let now = st.now();
        let actions = actions_of(&m);
        st.macros.insert(
            id,
            SimMacro {
                id,
                name: m.name,
                language: m.language,
                intent: None,
                usage: 0,
                archived: None,
                created: now,
                updated: now,
                actions,
            },
        );
        id
    }

    /// Changes a macro's response text (plain and HTML), as an agent editing it would.
    /// Returns false for an unknown macro.
    pub fn edit_macro_text(&self, id: u64, text: &str) -> bool {
        let mut st = self.state();
        let now = st.now();
        let Some(m) = st.macros.get_mut(&id) else {
            return false;
        };
        m.actions = vec![response_text_action(text, &format!("<p>{text}</p>"))];
        m.updated = now;
        true
    }

    /// Archives a macro (it stays listed, with `archived_datetime` set).
    pub fn archive_macro(&self, id: u64) -> bool {
        let mut st = self.state();
        let now = st.now();
        let Some(m) = st.macros.get_mut(&id) else {
            return false;
        };
        m.archived = Some(now);
        m.updated = now;
        true
    }

    /// Deletes a macro.
    pub fn delete_macro(&self, id: u64) -> bool {
        self.state().macros.remove(&id).is_some()
    }

    /// The demo's macros: a few canned answers a shop's agents would keep. Returns their ids.
    pub fn seed_demo_macros(&self) -> Vec<u64> {
        let m = |name: &str, text: &str| NewMacro {
            name: name.into(),
            language: Some("en".into()),
            text: text.into(),
            ..NewMacro::default()
        };
        vec![
            self.create_macro(m(
                "Replacement laces for hiking boots",
                "Hi {{ticket.customer.firstname}}, yes: replacement laces cost 4 EUR, in the \
                 Spare parts section of the shop.",
            )),
            self.create_macro(m(
                "Engraving on watches",
                "Engraving on watches is free for up to 12 characters.",
            )),
            self.create_macro(NewMacro {
                name: "Close and tag as spam".into(),
                raw_actions: Some(vec![
                    json!({"type": "user", "name": "addTags", "arguments": {"tags": "spam"}}),
                    json!({"type": "user", "name": "setStatus", "arguments": {"status": "closed"}}),
                ]),
                ..NewMacro::default()
            }),
        ]
    }

    /// A macro as the API returns it.
    pub fn macro_json(&self, id: u64) -> Option<Value> {
        self.state().macros.get(&id).map(SimMacro::json)
    }
}
