//! The Gorgias REST API: typed models, the error type, request bodies, and the client (auth,
//! pacing, retries, paging). This module talks HTTP and nothing else: no decisions, no ledger.

pub mod body;
pub mod client;
pub mod decode;
pub mod error;
pub mod html;
pub mod model;
pub mod pacing;
pub mod presence;

pub use body::{NewMessage, NewView, TicketStatus, TicketUpdate};
pub use client::{Auth, Client, ClientConfig, ClientStats, ListPage, Listed, Pages};
pub use decode::SkippedItem;
pub use error::GorgiasError;
pub use model::*;
