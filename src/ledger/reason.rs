//! Why a ticket is where it is: the reasons the engine gives and the ledger stores, each by a
//! stable name. An unknown stored name is an error naming the row, never a silent default.

use std::fmt;
use std::str::FromStr;

/// Why a ticket goes to people. Stored in the ledger and shown in reports by [`as_str`].
///
/// [`as_str`]: HandoverReason::as_str
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum HandoverReason {
    /// The customer asked for a person.
    Requested,
    /// The customer is angry, insulting, shouting or repeating an unanswered question.
    Frustrated,
    /// The responder had no good enough answer.
    NoKnowledge,
    /// The responder failed or timed out past `answer_deadline`.
    Error,
    /// A Gorgias Rule, Flow or Macro already handled the ticket.
    Automation,
    /// An order question a person must take (cancelled, late, shipment problem, a request to
    /// change, cancel or refund, no order number after asking): see `crate::orders::answer`.
    Order,
}

impl HandoverReason {
    /// The stable name stored in the ledger and used in metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Frustrated => "frustrated",
            Self::NoKnowledge => "no_knowledge",
            Self::Error => "error",
            Self::Automation => "rule",
            Self::Order => "order",
        }
    }

    /// Parse a stored name (the inverse of [`HandoverReason::as_str`]).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "requested" => Self::Requested,
            "frustrated" => Self::Frustrated,
            "no_knowledge" => Self::NoKnowledge,
            "error" => Self::Error,
            "rule" => Self::Automation,
            "order" => Self::Order,
            _ => return None,
        })
    }

    /// All reasons, in report order.
    pub const ALL: [HandoverReason; 6] = [
        Self::Requested,
        Self::Frustrated,
        Self::NoKnowledge,
        Self::Error,
        Self::Automation,
        Self::Order,
    ];
}

impl fmt::Display for HandoverReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored reason name that is not one of [`HandoverReason::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown handover reason {0:?} (expected requested, frustrated, no_knowledge, error, rule or order)"
)]
pub struct UnknownHandoverReason(pub String);

impl FromStr for HandoverReason {
    type Err = UnknownHandoverReason;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UnknownHandoverReason(s.to_owned()))
    }
}

/// Why a ticket is in its state ([`super::TicketRow::reason`], the `reason` of a state change).
/// Stored by [`StateReason::as_str`]; the names are the ones earlier versions wrote, so an
/// existing ledger reads back unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum StateReason {
    /// Handed over (or waiting for an email before the handover) for this reason. Also
    /// `Handover(Automation)` ("rule") for a ticket a Gorgias rule spoke on first.
    Handover(HandoverReason),
    /// Found closed in Gorgias.
    ClosedElsewhere,
    /// An opt-out tag is on it.
    OptOut,
    /// Not on a channel the bot answers.
    Channel,
    /// Assigned to someone else.
    AgentTakeover,
    /// Unassigned by someone else.
    Unassigned,
    /// Still carries an escalation tag.
    Tagged,
    /// Given back to the bot after a handover, takeover or opt-out.
    Returned,
    /// A customer wrote on a closed ticket.
    Reopened,
    /// A person replied on the bot's ticket.
    AgentReplied,
    /// The bot answered.
    Answered,
    /// Closed by the bot after `close_after` without a customer message.
    Idle,
    /// A courtesy exchange (greeting, thanks, goodbye).
    SmallTalk,
    /// The bot asked for the order number.
    OrderNumber,
    /// Gorgias sent the ticket in a form the bot could not read; handed over.
    Unreadable,
    /// The ticket was deleted in Gorgias.
    Deleted,
}

impl StateReason {
    /// Every reason that is not a handover's, for the round-trip test and error messages.
    const OTHERS: [StateReason; 15] = [
        Self::ClosedElsewhere,
        Self::OptOut,
        Self::Channel,
        Self::AgentTakeover,
        Self::Unassigned,
        Self::Tagged,
        Self::Returned,
        Self::Reopened,
        Self::AgentReplied,
        Self::Answered,
        Self::Idle,
        Self::SmallTalk,
        Self::OrderNumber,
        Self::Unreadable,
        Self::Deleted,
    ];

    /// The name stored in the ledger and shown in logs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Handover(r) => r.as_str(),
            Self::ClosedElsewhere => "closed_elsewhere",
            Self::OptOut => "opt_out",
            Self::Channel => "channel",
            Self::AgentTakeover => "agent_takeover",
            Self::Unassigned => "unassigned",
            Self::Tagged => "tagged",
            Self::Returned => "returned",
            Self::Reopened => "reopened",
            Self::AgentReplied => "agent_replied",
            Self::Answered => "answered",
            Self::Idle => "idle",
            Self::SmallTalk => "small_talk",
            Self::OrderNumber => "order_number",
            Self::Unreadable => "unreadable",
            Self::Deleted => "deleted",
        }
    }

    /// Parse a stored name (the inverse of [`StateReason::as_str`]).
    pub fn parse(s: &str) -> Option<Self> {
        HandoverReason::parse(s)
            .map(Self::Handover)
            .or_else(|| Self::OTHERS.into_iter().find(|r| r.as_str() == s))
    }

    /// The handover reason, when this is one.
    pub fn handover(self) -> Option<HandoverReason> {
        match self {
            Self::Handover(r) => Some(r),
            _ => None,
        }
    }
}

impl From<HandoverReason> for &'static str {
    fn from(r: HandoverReason) -> Self {
        r.as_str()
    }
}

impl TryFrom<String> for HandoverReason {
    type Error = UnknownHandoverReason;
    fn try_from(s: String) -> Result<Self, UnknownHandoverReason> {
        s.parse()
    }
}

impl From<HandoverReason> for StateReason {
    fn from(r: HandoverReason) -> Self {
        Self::Handover(r)
    }
}

impl From<StateReason> for &'static str {
    fn from(r: StateReason) -> Self {
        r.as_str()
    }
}

impl fmt::Display for StateReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored state reason this build does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown state reason {0:?}")]
pub struct UnknownStateReason(pub String);

impl FromStr for StateReason {
    type Err = UnknownStateReason;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UnknownStateReason(s.to_owned()))
    }
}

impl TryFrom<String> for StateReason {
    type Error = UnknownStateReason;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reason_round_trips_by_its_stored_name() {
        let all = HandoverReason::ALL
            .into_iter()
            .map(StateReason::Handover)
            .chain(StateReason::OTHERS);
        let mut names = std::collections::HashSet::new();
        for r in all {
            assert!(names.insert(r.as_str()), "{} named twice", r.as_str());
            assert_eq!(StateReason::parse(r.as_str()), Some(r));
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
            assert_eq!(serde_json::from_str::<StateReason>(&json).unwrap(), r);
        }
        assert_eq!(
            StateReason::parse("rule"),
            Some(StateReason::Handover(HandoverReason::Automation))
        );
        assert!(StateReason::parse("nope").is_none());
        assert!(serde_json::from_str::<StateReason>("\"nope\"").is_err());
    }
}
