//! The text log format's field formatting: every value, the message included, on one line.
//! Logged values carry outside text (a reply, a customer's question, an error quoting a
//! response), and written raw a newline in one would start a line that looks like the bot's own
//! ("INFO perfectbot: closed ticket_id=..."): a reply could forge log lines. Here newlines,
//! other control characters (terminal escapes included) and backslashes are escaped. The JSON
//! and journald formats keep each value in its own field and need nothing of this.

use std::fmt::Write as _;
use tracing_subscriber::field::MakeExt as _;

/// The field formatter for the text format (`fmt().fmt_fields(text_fields())`): `name=value`
/// pairs and the message, separated by spaces, each value escaped by [`escape_control`].
pub fn text_fields()
-> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + Send + Sync + 'static {
    tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        let text = format!("{value:?}");
        if field.name() == "message" {
            write!(w, "{}", escape_control(&text))
        } else {
            write!(w, "{}={}", field.name(), escape_control(&text))
        }
    })
    .delimited(" ")
}

/// `text` with control characters written as escapes (`\n`, `\r`, `\t`, `\u{1b}`), so that it
/// stays on one line and cannot drive a terminal. Backslashes are left alone: quoted values are
/// already escaped by `Debug`, and plain text keeps its backslashes readable.
pub fn escape_control(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_logged_value_cannot_forge_a_log_line() {
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .fmt_fields(text_fields())
            .with_writer(move || writer.clone())
            .finish();
        let reply = "Sure!\n2026-12-07T00:00:00Z  INFO perfectbot: closed ticket_id=9\r\u{1b}[2J";
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(ticket_id = 7, reply = %reply, quoted = reply, "replied: {reply}");
        });
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.ends_with('\n'));
        assert!(out.contains("ticket_id=7"), "{out}");
        assert!(
            out.contains("replied: Sure!\\n2026-12-07T00:00:00Z  INFO perfectbot: closed ticket_id=9\\r\\u{1b}[2J"),
            "{out}"
        );
        assert!(out.contains("reply=Sure!\\n"), "{out}");
        assert!(!out.contains('\u{1b}'), "{out}");
        assert_eq!(escape_control("plain"), "plain");
    }
}
