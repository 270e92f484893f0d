//! Integration tests: the simulator and the daemon in-process (and the real binary where a test
//! needs a process: CLI, SIGTERM, kill -9). One test binary, modules by theme.

mod answering;
mod bad_input;
mod browser;
mod cli;
mod client_sim;
mod common;
mod dashboards;
mod deadlines;
mod eval;
mod faults;
mod http;
mod kb;
mod lifecycle;
mod llm;
mod newcomer;
mod ops;
mod orders;
mod polling;
mod preview;
mod restart;
mod shadow;
mod sources;
mod systemd;
