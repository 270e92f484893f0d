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
//!   or on SIGHUP, `#kb` internal notes learned into the ledger; and `perfectbot kb list`.
//! - [`sources`] reads the knowledge the shop keeps elsewhere (Gorgias macros, help-centre
//!   websites) into the live knowledge base, every `kb.refresh` and on SIGHUP.
//! - [`hours`] answers "are we open, and when do we open next" in the business's time zone.
//! - [`sim`] is a Gorgias simulator used by tests, benchmarks and `perfectbot demo`.
//! - [`executor`] performs plans: intent in the ledger's action log, then the write, then done.
//! - [`daemon`] wires it all and runs the poll loop, the sweeps and the deadline timer.
//! - [`demo`] runs the lifecycle against the simulator for a newcomer.
//! - [`preview`] chats with the configured responder and policy in a terminal (no Gorgias).
//! - [`ops`] is the operator's commands: `status`, `report` (ledger, read-only) and `setup` (views).
//! - [`clock`] injects wall time.
//! - [`http`] is the optional listener (`/healthz`, `/metrics`, `/webhook`); [`metrics`] names
//!   the Prometheus metrics and records them.
//! - [`netbody`] reads untrusted HTTP response bodies with a size cap and a stall timeout.
//! - [`bench`] runs the measured workloads (`perfectbot bench`).

pub mod bench;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod engine;
pub mod executor;
pub mod gorgias;
pub mod hours;
pub mod http;
pub mod knowledge;
pub mod ledger;
pub mod metrics;
pub mod netbody;
pub mod ops;
pub mod preview;
pub mod responder;
pub mod sim;
pub mod sources;
