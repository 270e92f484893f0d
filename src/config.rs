//! TEMPORARY stand-in (replaced by the config branch on merge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectEmail {
    Always,
    WhenOffline,
    Never,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Live,
    Shadow,
}
#[derive(Debug, Clone, PartialEq)]
pub struct Tags {
    pub agent_required: String,
    pub agent_check: String,
    pub handled: String,
    pub not_involved: String,
    pub auto_closed: String,
    pub preview: String,
}
