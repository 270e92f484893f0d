//! Outputs of the ledger that are not shared with the engine (those are in `types.rs`): the
//! counts of a prune.

/// What a retention sweep (`Ledger::prune`) deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PruneStats {
    pub tickets: u64,
    pub actions: u64,
    pub events: u64,
}
