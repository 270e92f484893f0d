//! `check-config`'s checks beyond the file itself (which `config::load` validates): the
//! knowledge files parse and hold entries, and the ledger's directory can be written. These
//! read the disk (and create and remove one scratch file beside the ledger) but never touch
//! the network, so `check-config` can run as the unit's `ExecStartPre` and catch what would
//! otherwise make `run` exit at start-up.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::responder::kb::{Kb, read_dir_entries};

/// What the checks found when everything is usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preflight {
    /// Entries in the knowledge files (learned `#kb` entries live in the ledger, not counted).
    pub kb_entries: usize,
    /// The ledger file, and whether it exists yet (the daemon creates it on first start).
    pub ledger: PathBuf,
    pub ledger_exists: bool,
}

/// Every problem, one line each, naming the key and the file or folder.
pub fn check(cfg: &Config) -> Result<Preflight, Vec<String>> {
    let mut problems = Vec::new();
    let kb_entries = match knowledge_entries(&cfg.kb.dir) {
        Ok(n) => n,
        Err(e) => {
            problems.push(format!("kb.dir: {e}"));
            0
        }
    };
    if let Err(e) = ledger_writable(&cfg.ledger.path) {
        problems.push(format!("ledger.path: {e}"));
    }
    if problems.is_empty() {
        Ok(Preflight {
            kb_entries,
            ledger: cfg.ledger.path.clone(),
            ledger_exists: cfg.ledger.path.exists(),
        })
    } else {
        Err(problems)
    }
}

/// The number of entries in the knowledge files of `dir`, built into an index exactly as the
/// daemon builds it at start-up (so duplicate ids and empty answers are caught too).
pub fn knowledge_entries(dir: &Path) -> Result<usize, String> {
    if !dir.is_dir() {
        return Err(format!(
            "{} is not a folder (it must hold the knowledge files, *.toml or *.md)",
            dir.display()
        ));
    }
    let entries = read_dir_entries(dir).map_err(|e| e.to_string())?;
    let kb = Kb::from_entries(entries).map_err(|e| e.to_string())?;
    Ok(kb.len())
}

/// The unit's state folder (`StateDirectory=perfectbot`), which systemd creates.
const STATE_DIRECTORY: &str = "/var/lib/perfectbot";

/// The ledger can be opened for writing: the file (if it exists) is writable, or its folder
/// exists and accepts a new file. Checked by doing it: a scratch file created
/// and removed, so permissions, read-only mounts and ownership all count as they will for `run`.
pub fn ledger_writable(path: &Path) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!("{} is a folder, not a file", path.display()));
    }
    if path.exists() {
        return std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map(|_| ())
            .map_err(|e| format!("{} cannot be written: {e}", path.display()));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.exists() {
        // systemd creates this one at the unit's start (StateDirectory=perfectbot), before
        // ExecStartPre runs; anywhere else a missing folder would make `run` fail.
        if dir == Path::new(STATE_DIRECTORY) {
            return Ok(());
        }
        return Err(format!(
            "the folder {} does not exist (create it, or point ledger.path elsewhere)",
            dir.display()
        ));
    }
    if !dir.is_dir() {
        return Err(format!("{} is not a folder", dir.display()));
    }
    let existing = dir;
    tempfile::Builder::new()
        .prefix(".perfectbot-check-")
        .tempfile_in(existing)
        .map(drop)
        .map_err(|e| {
            format!(
                "the folder {} cannot be written ({e}), so the ledger {} cannot be created",
                existing.display(),
                path.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_broken_knowledge_folder_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let e = knowledge_entries(&missing).unwrap_err();
        assert!(e.contains("nope") && e.contains("not a folder"), "{e}");
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let e = knowledge_entries(&empty).unwrap_err();
        assert!(e.contains("no .toml or .md"), "{e}");
        let broken = dir.path().join("broken");
        std::fs::create_dir(&broken).unwrap();
        std::fs::write(broken.join("a.toml"), "[[entries]]\nquestion = \"q\"\n").unwrap();
        let e = knowledge_entries(&broken).unwrap_err();
        assert!(e.contains("a.toml"), "{e}");
    }

    #[test]
    fn the_example_knowledge_base_loads() {
        let n =
            knowledge_entries(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kb")).unwrap();
        assert!(n >= 20, "{n}");
    }

    #[test]
    fn ledger_folder_must_accept_a_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ledger_writable(&dir.path().join("ledger.db")), Ok(()));
        let e = ledger_writable(&dir.path().join("a/b/ledger.db")).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
        if !Path::new(STATE_DIRECTORY).exists() {
            // The unit's state folder is systemd's to create.
            assert_eq!(
                ledger_writable(Path::new("/var/lib/perfectbot/ledger.db")),
                Ok(())
            );
        }
        assert!(
            ledger_writable(dir.path())
                .unwrap_err()
                .contains("is a folder")
        );
        let file = dir.path().join("plain");
        std::fs::write(&file, "x").unwrap();
        let e = ledger_writable(&file.join("ledger.db")).unwrap_err();
        assert!(e.contains("not a folder"), "{e}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let ro = dir.path().join("ro");
            std::fs::create_dir(&ro).unwrap();
            std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
            // root writes anywhere: the check only means something for another user.
            let root = std::fs::File::create(ro.join("probe")).is_ok();
            if !root {
                let e = ledger_writable(&ro.join("ledger.db")).unwrap_err();
                assert!(e.contains("cannot be written"), "{e}");
            }
            let _ = std::fs::remove_file(ro.join("probe"));
            std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        // Nothing left behind by the check.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".perfectbot-check")
            })
            .collect();
        assert!(left.is_empty());
    }
}
