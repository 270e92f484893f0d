//! Plain text from a message's HTML, for messages that carry only `body_html`: tags dropped,
//! `<script>`, `<style>` and comments dropped whole, block tags become line breaks, entities
//! decoded, whitespace collapsed. One pass over the input (every search moves forward), and the
//! output is cut at a maximum: a hostile 20 MB body costs one bounded scan, never a DOM.

/// The longest text taken from one message's HTML, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// Tags after which the text continues on a new line.
const BLOCK_TAGS: &[&str] = &[
    "br",
    "p",
    "div",
    "li",
    "tr",
    "ul",
    "ol",
    "table",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "pre",
];

/// The visible text of `html`, at most `max_chars` characters.
pub fn html_to_text(html: &str, max_chars: usize) -> String {
    // Raw text with whitespace still to be collapsed; a little slack over the cap for it.
    let budget = max_chars.saturating_mul(2).saturating_add(64);
    let mut raw = String::new();
    let mut rest = html;
    while !rest.is_empty() && raw.len() < budget {
        let Some(pos) = rest.find(['<', '&']) else {
            push_capped(&mut raw, rest, budget);
            break;
        };
        push_capped(&mut raw, &rest[..pos], budget);
        rest = &rest[pos..];
        if rest.starts_with('&') {
            let (decoded, used) = entity(rest);
            raw.push_str(&decoded);
            rest = &rest[used..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(end) = rest.find('>') else {
            // A '<' that opens no tag is text (and no later '<' can close one either).
            push_capped(&mut raw, rest, budget);
            break;
        };
        let inside = &rest[1..end];
        rest = &rest[end + 1..];
        let closing = inside.starts_with('/');
        let name: String = inside
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .take(16)
            .collect::<String>()
            .to_ascii_lowercase();
        if !closing && (name == "script" || name == "style") {
            rest = skip_past_closing(rest, &name);
            continue;
        }
        if BLOCK_TAGS.contains(&name.as_str()) {
            raw.push('\n');
        } else if name == "td" || name == "th" {
            raw.push(' ');
        }
    }
    normalize(&raw, max_chars)
}

fn push_capped(out: &mut String, s: &str, budget: usize) {
    let room = budget.saturating_sub(out.len());
    if s.len() <= room {
        out.push_str(s);
    } else {
        let mut cut = room;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&s[..cut]);
    }
}

/// After `<script ...>` or `<style ...>`: the text past its closing tag (ASCII-case-insensitive).
fn skip_past_closing<'a>(rest: &'a str, name: &str) -> &'a str {
    let needle = format!("</{name}");
    let bytes = rest.as_bytes();
    let n = needle.len();
    let found = (0..bytes.len().saturating_sub(n - 1))
        .find(|&i| bytes[i..i + n].eq_ignore_ascii_case(needle.as_bytes()));
    match found {
        Some(i) => rest[i..].find('>').map_or("", |e| &rest[i + e + 1..]),
        None => "",
    }
}

/// The entity at the start of `s` (which starts with '&'): its text and the bytes it used. An
/// unknown or unterminated one is a literal '&'.
fn entity(s: &str) -> (String, usize) {
    let literal = ("&".to_owned(), 1);
    let Some(semi) = s[1..].find(';').filter(|&i| i <= 10) else {
        return literal;
    };
    let name = &s[1..1 + semi];
    let used = semi + 2;
    let named = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" | "#39" => Some('\''),
        "nbsp" => Some(' '),
        "hellip" => Some('…'),
        "ndash" => Some('–'),
        "mdash" => Some('—'),
        "rsquo" => Some('’'),
        "lsquo" => Some('‘'),
        "rdquo" => Some('”'),
        "ldquo" => Some('“'),
        "euro" => Some('€'),
        _ => None,
    };
    if let Some(c) = named {
        return (c.to_string(), used);
    }
    let code = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
        u32::from_str_radix(hex, 16).ok()
    } else if let Some(dec) = name.strip_prefix('#') {
        dec.parse::<u32>().ok()
    } else {
        None
    };
    match code.and_then(char::from_u32).filter(|c| *c != '\0') {
        Some(c) => (c.to_string(), used),
        None if code.is_some() => ('\u{FFFD}'.to_string(), used),
        None => literal,
    }
}

/// Collapse runs of spaces within lines, trim lines, keep at most one empty line in a row, and
/// cut at `max_chars` characters.
fn normalize(raw: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut count = 0usize;
    let mut blank_run = 0;
    for line in raw.split('\n') {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            let breaks = if blank_run > 1 { "\n\n" } else { "\n" };
            out.push_str(breaks);
            count += breaks.len();
        }
        blank_run = 0;
        for (i, w) in words.iter().enumerate() {
            if i > 0 {
                out.push(' ');
                count += 1;
            }
            for c in w.chars() {
                if count >= max_chars {
                    return out;
                }
                out.push(c);
                count += 1;
            }
        }
        if count >= max_chars {
            return out;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_go_entities_decode_blocks_break_lines() {
        let html = "<div><p>Hello&nbsp;<b>Anna</b>,</p><p>where is my order &#35;12 &amp; \
                    &#x1F600;?<br>Thanks</p><script>alert('x')</script><style>p{}</style>\
                    <!-- hidden --></div>";
        assert_eq!(
            html_to_text(html, MAX_TEXT_CHARS),
            "Hello Anna,\nwhere is my order #12 & 😀?\nThanks"
        );
    }

    #[test]
    fn broken_html_is_text_not_a_panic() {
        assert_eq!(html_to_text("a < b and c > d", 100), "a d");
        assert_eq!(html_to_text("1 < 2", 100), "1 < 2");
        assert_eq!(
            html_to_text("&bogus; &#xZZ; &#1114112; &", 100),
            "&bogus; &#xZZ; \u{FFFD} &"
        );
        assert_eq!(html_to_text("<script>never closed", 100), "");
        assert_eq!(html_to_text("<!-- never closed", 100), "");
        assert_eq!(html_to_text("<SCRIPT>x</sCrIpT>ok", 100), "ok");
        assert_eq!(html_to_text("é<b>é</b>", 1), "é");
    }

    #[test]
    fn hostile_sizes_stay_bounded_and_linear() {
        // Two million unclosed '<' once would have meant a quadratic search.
        let many_lt = "<".repeat(2_000_000);
        assert!(html_to_text(&many_lt, 50).chars().count() <= 50);
        let huge = "<p>word</p>".repeat(500_000);
        let text = html_to_text(&huge, MAX_TEXT_CHARS);
        assert!(text.chars().count() <= MAX_TEXT_CHARS);
        assert!(text.starts_with("word\nword"));
        let entities = "&amp;".repeat(1_000_000);
        assert_eq!(html_to_text(&entities, 10), "&".repeat(10));
    }
}
