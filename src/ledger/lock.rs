//! One bot per ledger: an exclusive advisory lock (`flock`) on a file beside the ledger, taken
//! by the daemon for its whole life. The OS drops it when the process ends, however it ends
//! (`kill -9` included), so nothing stale is ever left to clean up. Readers (`status`,
//! `report`, `kb list`, `preview`) never take it.
//!
//! Why a file of its own rather than the ledger itself: SQLite keeps POSIX record locks on the
//! ledger, and closing any descriptor a process holds on a file drops all of that process's
//! POSIX locks on it; a second descriptor on the ledger could break SQLite's own locking.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::LedgerError;

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct LedgerLock {
    _file: File,
    path: PathBuf,
}

impl LedgerLock {
    /// Takes the lock of the ledger at `ledger`, failing at once with
    /// [`LedgerError::InUse`] (naming the ledger) when another process holds it.
    pub fn acquire(ledger: &Path) -> Result<LedgerLock, LedgerError> {
        if let Some(dir) = ledger.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(LedgerError::DirMissing {
                path: ledger.to_path_buf(),
                dir: dir.to_path_buf(),
            });
        }
        let lock = lock_path(ledger);
        let fail = |source| LedgerError::Lock {
            path: ledger.to_path_buf(),
            lock: lock.clone(),
            source,
        };
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&lock).map_err(fail)?;
        match file.try_lock() {
            Ok(()) => Ok(LedgerLock {
                _file: file,
                path: lock,
            }),
            Err(TryLockError::WouldBlock) => Err(LedgerError::InUse {
                path: ledger.to_path_buf(),
                lock,
            }),
            Err(TryLockError::Error(e)) => Err(fail(e)),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The lock file of the ledger at `ledger`: the same name with `.lock` added.
pub fn lock_path(ledger: &Path) -> PathBuf {
    let mut name = ledger.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}
