//! TEMPORARY stand-in (replaced by the responder branch on merge).
use std::future::Future;
use std::pin::Pin;
pub mod intent;
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Turn {
    pub messages: Vec<String>,
    pub history: Vec<(Speaker, String)>,
    pub language: Option<String>,
    pub customer_name: Option<String>,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    Customer,
    Bot,
    Agent,
}
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Answer {
        text: String,
        sources: Vec<String>,
        score: f64,
    },
    NoKnowledge {
        best_score: Option<f64>,
    },
    Handover(HandoverReason),
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandoverReason {
    Requested,
    Frustrated,
    NoKnowledge,
    Error,
    Automation,
}
impl HandoverReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Frustrated => "frustrated",
            Self::NoKnowledge => "no_knowledge",
            Self::Error => "error",
            Self::Automation => "rule",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "requested" => Self::Requested,
            "frustrated" => Self::Frustrated,
            "no_knowledge" => Self::NoKnowledge,
            "error" => Self::Error,
            "rule" => Self::Automation,
            _ => return None,
        })
    }
}
#[derive(Debug, thiserror::Error)]
pub enum ResponderError {
    #[error("x")]
    X,
}
pub trait Responder: Send + Sync {
    fn name(&self) -> &str;
    fn answer<'a>(
        &'a self,
        turn: &'a Turn,
    ) -> Pin<Box<dyn Future<Output = Result<Outcome, ResponderError>> + Send + 'a>>;
}
pub mod email;
