//! Integration tests: the simulator and the daemon in-process (and the real binary where a test
//! needs a process: CLI, SIGTERM, kill -9). One test binary, modules by theme.

mod answering;
mod bad_input;
mod cli;
mod client_sim;
mod common;
mod faults;
mod http;
mod kb;
mod lifecycle;
mod ops;
mod polling;
mod restart;
mod shadow;
mod sources;
mod systemd;
