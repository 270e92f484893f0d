//! Secrets: API keys and the webhook secret, read from systemd credentials, a key file or the
//! environment. Errors name where a secret was looked for, never the secret.

use std::path::Path;

use secrecy::SecretString;

use super::Validator;
use crate::config::Secrets;

/// Where one secret may be found, in the order it is looked for.
pub(super) struct SecretSource<'a> {
    /// The config key the secret belongs to, which messages name ("gorgias.api_key").
    pub key: &'a str,
    /// Its name under `$CREDENTIALS_DIRECTORY` (systemd's `LoadCredential=`).
    pub credential: &'a str,
    /// The key file configured, if any.
    pub file: Option<&'a Path>,
    /// The environment variable it may come from, if any.
    pub env_var: Option<&'a str>,
}

impl Validator<'_> {
    /// Reads a secret from the first place that has it: `$CREDENTIALS_DIRECTORY/<credential>`,
    /// then the configured file, then the environment variable. Errors never include the
    /// secret, only where it was looked for. With [`Secrets::Optional`] a secret that cannot
    /// be read is a note rather than an error, and the secret is absent.
    pub(super) fn secret(&mut self, at: SecretSource<'_>) -> Result<Option<SecretString>, ()> {
        match (self.find_secret(&at), self.secrets) {
            (Err(()), Secrets::Optional) => Ok(None),
            (found, _) => found,
        }
    }

    fn find_secret(&mut self, at: &SecretSource<'_>) -> Result<Option<SecretString>, ()> {
        let key = at.key;
        if let Some(dir) = (self.env)("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty()) {
            let path = Path::new(&dir).join(at.credential);
            if path.exists() {
                return self.read_secret_file(key, &path).map(Some);
            }
        }
        if let Some(path) = at.file {
            return self.read_secret_file(key, path).map(Some);
        }
        if let Some(var) = at.env_var
            && let Some(value) = (self.env)(var)
        {
            let value = value.trim();
            if value.is_empty() {
                self.secret_problem(key, format!("the environment variable {var} is empty"));
                return Err(());
            }
            return Ok(Some(SecretString::from(value)));
        }
        Ok(None)
    }

    /// A secret that is named but cannot be had: an error when the command needs its secrets,
    /// else a note that it goes without.
    fn secret_problem(&mut self, key: &str, msg: String) {
        match self.secrets {
            Secrets::Required => self.err(key, msg),
            Secrets::Optional => self
                .warnings
                .push(format!("{key}: {msg}; going without it")),
        }
    }

    pub(super) fn read_secret_file(&mut self, key: &str, path: &Path) -> Result<SecretString, ()> {
        match std::fs::read_to_string(path) {
            Ok(text) if text.trim().is_empty() => {
                self.secret_problem(key, format!("the file {} is empty", path.display()));
                Err(())
            }
            Ok(text) => {
                if let Some(mode) = loose_mode(path) {
                    self.warnings.push(format!(
                        "{key}: the file {} can be read by other users (mode {mode:04o}); \
                         chmod 600 it (or use systemd's LoadCredential=)",
                        path.display()
                    ));
                }
                Ok(SecretString::from(text.trim()))
            }
            Err(e) => {
                self.secret_problem(key, format!("cannot read the file {}: {e}", path.display()));
                Err(())
            }
        }
    }
}

/// The permission bits of a secret file when its group or others may read or write it.
fn loose_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o7777;
        (mode & 0o066 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}
