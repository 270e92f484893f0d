//! Where log lines go: text on stderr (colour only on a terminal, never with `NO_COLOR`), JSON
//! on stderr, or the systemd journal through its native socket.
//!
//! The journal layer is ours rather than tracing-journald's because operators follow one
//! conversation with `journalctl -u perfectbot | grep ticket_id=123`: grep sees only the
//! MESSAGE text, so each entry's MESSAGE carries the fields as `key=value` (as the text format
//! prints them), and every field is also a journal field (`F_TICKET_ID=123`) for
//! `journalctl F_TICKET_ID=123`. Priorities are syslog's: error 3, warn 4, info 6, debug 7.
//! This module decides nothing about tickets and never sees a secret (callers never log one).

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;

use crate::config::LogFormat;

/// journald's native protocol socket.
pub const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// The longest MESSAGE sent (a datagram has a size limit; our lines are far shorter).
const MAX_MESSAGE: usize = 32 * 1024;

/// Colour only for a person at a terminal, and never when `NO_COLOR` is set to anything
/// non-empty (<https://no-color.org>).
pub fn use_colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Install the global subscriber: `format` (`Auto` = journald when systemd gave us a journal
/// stream, else text), filtered by `RUST_LOG` when set, else by `filter`.
pub fn init(format: LogFormat, filter: &str) {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::prelude::*;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let journald = match format {
        LogFormat::Journald => true,
        LogFormat::Auto => std::env::var_os("JOURNAL_STREAM").is_some(),
        _ => false,
    };
    if journald && let Some(layer) = JournalLayer::connect(Path::new(JOURNAL_SOCKET)) {
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(layer)
            .try_init();
        return;
    }
    if format == LogFormat::Json {
        let _ = tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    } else {
        let colour = use_colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        );
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .fmt_fields(crate::logfmt::text_fields())
            .with_ansi(colour)
            .with_writer(std::io::stderr)
            .try_init();
    }
}

/// A tracing layer that writes each event as one journal entry.
pub struct JournalLayer {
    socket: UnixDatagram,
    path: PathBuf,
}

impl JournalLayer {
    /// A layer sending to the journal socket at `path`; `None` when there is no socket there.
    pub fn connect(path: &Path) -> Option<JournalLayer> {
        if !path.exists() {
            return None;
        }
        let socket = UnixDatagram::unbound().ok()?;
        Some(JournalLayer {
            socket,
            path: path.to_path_buf(),
        })
    }
}

/// The event's message and its fields, in order.
#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.fields.push((field.name(), format!("{value:?}")));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.fields.push((field.name(), format!("{value:?}")));
        }
    }
}

fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// A journal field name: upper-case ASCII letters, digits and `_`, not starting with `_`.
fn field_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    out.insert_str(0, "F_");
    out
}

/// One field in the protocol's length-prefixed form, which allows any bytes in the value.
fn put(buf: &mut Vec<u8>, name: &str, value: &str) {
    buf.extend_from_slice(name.as_bytes());
    buf.push(b'\n');
    buf.extend_from_slice(&(value.len() as u64).to_le_bytes());
    buf.extend_from_slice(value.as_bytes());
    buf.push(b'\n');
}

/// The MESSAGE text: the message, then ` key=value` per field, as the text format prints them.
pub fn message_text(message: &str, fields: &[(&str, String)]) -> String {
    let mut text = message.to_string();
    for (k, v) in fields {
        let _ = write!(text, " {k}={v}");
    }
    if text.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// The datagram for one event.
fn entry(
    level: &Level,
    target: &str,
    file: Option<&str>,
    line: Option<u32>,
    f: &Fields,
) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256);
    put(&mut buf, "PRIORITY", &priority(level).to_string());
    put(&mut buf, "SYSLOG_IDENTIFIER", "perfectbot");
    put(&mut buf, "TARGET", target);
    if let Some(file) = file {
        put(&mut buf, "CODE_FILE", file);
    }
    if let Some(line) = line {
        put(&mut buf, "CODE_LINE", &line.to_string());
    }
    for (k, v) in &f.fields {
        // Strings are quoted in MESSAGE (as in the text format) but plain in their own field.
        let plain = v
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(v);
        put(&mut buf, &field_name(k), plain);
    }
    put(&mut buf, "MESSAGE", &message_text(&f.message, &f.fields));
    buf
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for JournalLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let meta = event.metadata();
        let buf = entry(meta.level(), meta.target(), meta.file(), meta.line(), &f);
        // Nothing sensible to do when the journal refuses an entry: logging must never stop
        // the bot.
        let _ = self.socket.send_to(&buf, &self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some(OsStr::new(""))));
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(false, None));
    }

    #[test]
    fn the_message_text_carries_the_fields_for_grep() {
        let text = message_text(
            "replied",
            &[("ticket_id", "123".into()), ("action", "\"reply\"".into())],
        );
        assert_eq!(text, "replied ticket_id=123 action=\"reply\"");
        let long = message_text(&"é".repeat(MAX_MESSAGE), &[]);
        assert!(long.len() <= MAX_MESSAGE + 3);
    }

    #[test]
    fn events_reach_the_socket_with_priority_fields_and_text() {
        use tracing_subscriber::prelude::*;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sock");
        let sock = UnixDatagram::bind(&path).unwrap();
        let layer = JournalLayer::connect(&path).unwrap();
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(
                ticket_id = 123u64,
                action = "reply",
                "poll failed\nsecond line"
            );
        });
        let mut buf = vec![0u8; 65536];
        let n = sock.recv(&mut buf).unwrap();
        let got = String::from_utf8_lossy(&buf[..n]).to_string();
        for needle in [
            "PRIORITY\n",
            "F_TICKET_ID\n",
            "123\n",
            "F_ACTION\n",
            "poll failed\nsecond line ticket_id=123 action=\"reply\"\n",
            "SYSLOG_IDENTIFIER\n",
        ] {
            assert!(got.contains(needle), "{needle:?} in {got:?}");
        }
        let mut priority = b"PRIORITY\n".to_vec();
        priority.extend_from_slice(&1u64.to_le_bytes());
        priority.extend_from_slice(b"4\n");
        assert!(
            buf[..n].windows(priority.len()).any(|w| w == priority),
            "priority 4: {got:?}"
        );
    }
}
