//! Integration tests: the simulator and the daemon in-process (and the real binary where a test
//! needs a process: CLI, SIGTERM, kill -9). One test binary, modules by theme.

mod cli;
mod client_sim;
mod common;
mod faults;
mod lifecycle;
mod restart;
