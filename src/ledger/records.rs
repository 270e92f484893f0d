//! Inputs and outputs of the ledger that are not shared with the engine (those are in
//! `types.rs`): a new event to record, the counts of a prune.

use jiff::Timestamp;

/// An event to append to the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub at: Timestamp,
    pub ticket_id: Option<u64>,
    /// "answered", "handover", "closed", ... (see `EventRow::kind`).
    pub kind: String,
    pub reason: Option<String>,
    /// Free JSON, stored as text.
    pub detail: Option<serde_json::Value>,
}

impl NewEvent {
    /// An event about one ticket, with no reason or detail yet.
    pub fn ticket(at: Timestamp, ticket_id: u64, kind: impl Into<String>) -> Self {
        Self {
            at,
            ticket_id: Some(ticket_id),
            kind: kind.into(),
            reason: None,
            detail: None,
        }
    }

    /// An event about the bot as a whole (a poll, an error), not one ticket.
    pub fn global(at: Timestamp, kind: impl Into<String>) -> Self {
        Self {
            at,
            ticket_id: None,
            kind: kind.into(),
            reason: None,
            detail: None,
        }
    }

    /// Sets the reason.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Sets the JSON detail.
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// What a retention sweep (`Ledger::prune`) deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PruneStats {
    pub tickets: u64,
    pub actions: u64,
    pub events: u64,
}
