//! The SQLite ledger (to be written): ticket rows, the action log, the event log.

mod types;
pub use types::*;
