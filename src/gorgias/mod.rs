//! The Gorgias REST API: typed models, the error type, and the client (auth, pacing, retries).
//! This module talks HTTP and nothing else: no decisions, no ledger.

pub mod client;
pub mod error;
pub mod model;

pub use error::GorgiasError;
pub use model::*;
