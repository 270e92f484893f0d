//! perfectbot: a self-hosted chat agent for the Gorgias helpdesk.
//!
//! How data flows:
//! - [`config`] turns `config.toml` into a validated `Config` (all errors at once).
//! - [`gorgias`] is the HTTP edge: models, client with pacing and retries.
//! - [`ledger`] is the SQLite memory: ticket rows, the action log (intent before every write),
//!   the event log.
//! - [`engine`] is pure: (ticket, ledger row, now, policy, hours) -> actions. No I/O, no clock.
//! - [`responder`] turns a customer turn into an answer, "no knowledge" or a handover;
//!   it also holds intent/frustration detection and email extraction.
//! - [`knowledge`] keeps the responder's knowledge base live: files re-read when they change
//!   or on SIGHUP, `#kb` internal notes learned into the ledger (also from handed-over tickets).
//! - [`orders`] reads the Shopify orders Gorgias holds on a ticket's customer and decides, pure,
//!   what an order question may be told (identity first); the engine asks for them two-phase.
//! - [`sources`] reads the knowledge the shop keeps elsewhere (Gorgias macros, help-centre
//!   websites) into the live knowledge base, every `kb.refresh` and on SIGHUP.
//! - [`hours`] answers "are we open, and when do we open next" in the business's time zone.
//! - The Gorgias simulator used by tests, benchmarks, `perfectbot sim`, `demo` and `try` is its
//!   own crate, `perfectbot_sim` (crates/sim).
//! - [`executor`] performs plans: intent in the ledger's action log, then the write, then done.
//! - [`daemon`] wires it all and runs the poll loop, the sweeps and the deadline timer.
//! - [`demo`] runs the lifecycle against the simulator for a newcomer; [`tryit`] (`perfectbot try`)
//!   runs the simulator's chat page and the daemon together for a person to play the customer.
//! - [`preview`] lets a person be the customer in a terminal (the daemon's decision path, no
//!   Gorgias).
//! - [`ops`] is the operator's commands: `status`, `report`, `kb list` (read-only) and `setup`
//!   (views).
//! - [`clock`] (crates/clock, re-exported) injects wall time; [`logs`] sends log lines to stderr or the journal.
//! - [`http`] is the optional listener (`/healthz`, `/metrics`, `/webhook`); [`health`] is what
//!   `/healthz` reports (and when a poll is stale); [`metrics`] names the Prometheus metrics and
//!   records them.
//! - [`logfmt`] keeps the text log format one line per event whatever the logged values hold.
//! - [`netbody`] reads untrusted HTTP response bodies with a size cap and a stall timeout.
//! - `text` folds text for matching (lowercase, no diacritics, tokens, clauses);
//!   [`calibration`] holds the knowledge base's confidence numbers that `config` validates with.
//! - [`bench`] runs the measured workloads (`perfectbot bench`).
//! - [`conversation`] runs a synthetic ticket through the engine's phases with the configured
//!   responder and applies the plans to it; [`eval`] scores labelled messages with it
//!   (`perfectbot eval`), [`preview`] chats through it.

pub mod bench;
pub mod calibration;
/// The injected wall clock, a crate of its own (crates/clock) shared with the simulator; the
/// re-export keeps `perfectbot::clock` paths working.
pub use perfectbot_clock as clock;
pub mod config;
pub mod conversation;
pub mod daemon;
pub mod demo;
pub mod engine;
pub mod eval;
pub mod executor;
pub mod gorgias;
pub mod health;
pub mod hours;
pub mod http;
pub mod inflight;
pub mod knowledge;
pub mod lang;
pub mod ledger;
pub mod logfmt;
pub mod logs;
pub mod metrics;
#[cfg(test)]
mod module_graph;
pub mod netbody;
pub mod ops;
pub mod orders;
pub mod preview;
pub mod responder;
pub mod sources;
pub(crate) mod text;
pub mod tryit;
