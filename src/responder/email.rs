//! Email extraction from a customer's free-text reply ("sure, it's jane.doe@example.org").
//!
//! Pure: finds and validates one address, including the spelled-out forms customers type to dodge
//! spam filters ("jane at example dot org", "jane (at) example (dot) co (dot) uk"). It must not
//! decide what to do with the address (saving it on the customer is the engine's job).
//!
//! All scanning works on `char` vectors, never byte offsets, so no input can split a UTF-8
//! character (a proptest checks that nothing panics).

/// Finds the first valid email address in `text` and returns it with its domain lowercased and
/// surrounding punctuation stripped (`"Jane.Doe@Example.org."` -> `"Jane.Doe@example.org"`).
///
/// Tries, in order: literal `@` addresses; bracketed spellings (`(at)`, `[at]`, `{at}`, `<at>`,
/// same for `dot`); word spellings (`jane at example dot org`). Returns `None` when nothing
/// valid is found (`jane@`, `@example.org`, `jane@localhost`, `foo@bar..com`).
pub fn extract_email(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    if let Some(found) = scan_literal(&chars) {
        return Some(found);
    }
    let unbracketed = replace_bracketed(&chars);
    if unbracketed != chars
        && let Some(found) = scan_literal(&unbracketed)
    {
        return Some(found);
    }
    scan_words(&unbracketed)
}

/// Whether `s` (the whole string) is an email address we would save on a customer: one `@`, a
/// dot-atom local part of at most 64 characters, a domain of at least two labels (so `localhost`
/// is refused), labels of letters, digits and inner hyphens, and a non-numeric top-level label
/// of at least two characters.
pub fn is_valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    valid_local(local) && valid_domain(domain)
}

fn is_local_char(c: char) -> bool {
    c.is_alphanumeric() || "._%+-'!#$&*=?^`{|}~/".contains(c)
}

/// Characters we accept while scanning leftwards from an `@`: narrower than [`is_local_char`]
/// because free text puts quotes, slashes and braces right before addresses ("'jane@x.org'").
fn is_scan_local_char(c: char) -> bool {
    c.is_alphanumeric() || "._%+-".contains(c)
}

fn is_domain_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '.'
}

fn valid_local(local: &str) -> bool {
    let len = local.chars().count();
    (1..=64).contains(&len)
        && local.chars().all(is_local_char)
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

fn valid_domain(domain: &str) -> bool {
    if domain.is_empty() || domain.chars().count() > 253 {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let labels_ok = labels.iter().all(|label| {
        let n = label.chars().count();
        (1..=63).contains(&n)
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    let tld = labels[labels.len() - 1];
    labels_ok && tld.chars().count() >= 2 && !tld.chars().all(|c| c.is_ascii_digit())
}

/// Builds a candidate from the raw local and domain parts: trims the punctuation free text puts
/// around an address, lowercases the domain, and validates.
fn finish(local: &str, domain: &str) -> Option<String> {
    let local = local.trim_start_matches(['.', '-', '+', '%', '_']);
    let domain = domain.trim_end_matches(['.', '-']).to_lowercase();
    let candidate = format!("{local}@{domain}");
    is_valid_email(&candidate).then_some(candidate)
}

/// Every `@` in the text, expanded left over local-part characters and right over domain
/// characters (spaces right next to the `@` are tolerated: "jane @ example.org").
fn scan_literal(chars: &[char]) -> Option<String> {
    for (at, _) in chars.iter().enumerate().filter(|(_, c)| **c == '@') {
        let mut end_local = at;
        while end_local > 0 && chars[end_local - 1] == ' ' {
            end_local -= 1;
        }
        let start = local_start(chars, end_local);
        let mut begin_domain = at + 1;
        while begin_domain < chars.len() && chars[begin_domain] == ' ' {
            begin_domain += 1;
        }
        let mut end = begin_domain;
        while end < chars.len() && is_domain_char(chars[end]) {
            end += 1;
        }
        let local: String = chars[start..end_local].iter().collect();
        let domain: String = chars[begin_domain..end].iter().collect();
        if let Some(found) = finish(&local, &domain) {
            return Some(found);
        }
    }
    None
}

/// Where the local part ending at `end_local` starts, scanning leftwards. A symbol between two
/// letters or digits ("o'brien", "ja$e") belongs to the address; one at its edge ("'jane@...")
/// is punctuation. Both the literal and the spelled-out forms use this, so an address reads the
/// same whichever way it was typed (the `email` fuzz target found "ja$e at ..." giving
/// "ja$e@..." while "ja$e@..." gave "e@...").
fn local_start(chars: &[char], end_local: usize) -> usize {
    let mut start = end_local;
    while start > 0 {
        let c = chars[start - 1];
        let inner_symbol = "'!#$&*=?^~".contains(c)
            && start >= 2
            && chars[start - 2].is_alphanumeric()
            && start < end_local
            && chars[start].is_alphanumeric();
        if !(is_scan_local_char(c) || inner_symbol) {
            break;
        }
        start -= 1;
    }
    start
}

/// Replaces `(at)`, `[at]`, `{at}`, `<at>` with `@` and the same `dot` forms with `.`,
/// swallowing the spaces around them, so "jane (at) example (dot) org" becomes
/// "jane@example.org".
fn replace_bracketed(chars: &[char]) -> Vec<char> {
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if let Some((replacement, len)) = bracketed_word_at(chars, i) {
            while out.last() == Some(&' ') {
                out.pop();
            }
            out.push(replacement);
            i += len;
            while i < chars.len() && chars[i] == ' ' {
                i += 1;
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// If `chars[i..]` starts with a bracketed `at`/`dot` (spaces inside the brackets allowed),
/// returns the replacement character and the length consumed.
fn bracketed_word_at(chars: &[char], i: usize) -> Option<(char, usize)> {
    let close = match chars[i] {
        '(' => ')',
        '[' => ']',
        '{' => '}',
        '<' => '>',
        _ => return None,
    };
    let mut j = i + 1;
    let mut word = String::new();
    while j < chars.len() && j - i <= 8 {
        let c = chars[j];
        if c == close {
            let replacement = match word.trim().to_lowercase().as_str() {
                "at" => '@',
                "dot" => '.',
                _ => return None,
            };
            return Some((replacement, j + 1 - i));
        }
        word.push(c);
        j += 1;
    }
    None
}

/// The spelled-out form: a whitespace token `at` between a local part and a domain, the domain
/// continued by `dot` tokens ("jane.doe at example dot co dot uk").
fn scan_words(chars: &[char]) -> Option<String> {
    let text: String = chars.iter().collect();
    let words: Vec<&str> = text.split_whitespace().collect();
    for i in 1..words.len().saturating_sub(1) {
        if !words[i].eq_ignore_ascii_case("at") {
            continue;
        }
        let word: Vec<char> = words[i - 1].chars().collect();
        let local: String = word[local_start(&word, word.len())..].iter().collect();
        let mut domain = String::from(words[i + 1]);
        let mut j = i + 2;
        while j + 1 < words.len() && words[j].eq_ignore_ascii_case("dot") {
            domain.push('.');
            domain.push_str(words[j + 1]);
            j += 2;
        }
        let domain = domain.trim_end_matches(|c: char| !c.is_alphanumeric());
        if let Some(found) = finish(&local, domain) {
            return Some(found);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn symbol_inside_a_local_part_is_kept_in_every_spelling() {
        // Found by the `email` fuzz target: the literal form dropped "ja$" and saved
        // "e@example.org", a different person's address.
        for text in [
            "ja$e at example dot org",
            "ja$e@example.org",
            "ja$e (at) example (dot) org",
        ] {
            assert_eq!(
                extract_email(text).as_deref(),
                Some("ja$e@example.org"),
                "{text}"
            );
        }
        // At the edge a symbol is still punctuation, the same way in both spellings.
        assert_eq!(
            extract_email("$jane@example.org").as_deref(),
            Some("jane@example.org")
        );
        assert_eq!(
            extract_email("$jane at example dot org").as_deref(),
            Some("jane@example.org")
        );
    }

    #[test]
    fn finds_an_address_in_a_sentence() {
        assert_eq!(
            extract_email("sure, it's jane.doe@example.org").as_deref(),
            Some("jane.doe@example.org")
        );
    }

    #[test]
    fn strips_trailing_punctuation_and_lowercases_the_domain() {
        assert_eq!(
            extract_email("Jane.Doe@Example.org.").as_deref(),
            Some("Jane.Doe@example.org")
        );
        assert_eq!(
            extract_email("my email is (bob+shop@mail.example.com), thanks!").as_deref(),
            Some("bob+shop@mail.example.com")
        );
    }

    #[test]
    fn reads_spelled_out_at_and_dot() {
        assert_eq!(
            extract_email("jane.doe at example dot org").as_deref(),
            Some("jane.doe@example.org")
        );
        assert_eq!(
            extract_email("you can reach me at jane AT example DOT co DOT uk please").as_deref(),
            Some("jane@example.co.uk")
        );
    }

    #[test]
    fn reads_bracketed_at_and_dot() {
        assert_eq!(
            extract_email("jane (at) example (dot) co (dot) uk").as_deref(),
            Some("jane@example.co.uk")
        );
        assert_eq!(
            extract_email("jane[at]example[dot]org").as_deref(),
            Some("jane@example.org")
        );
    }

    #[test]
    fn reads_angle_bracketed_addresses() {
        assert_eq!(
            extract_email("Jane Doe <jane@example.org>").as_deref(),
            Some("jane@example.org")
        );
        assert_eq!(
            extract_email("mailto:jane@example.org").as_deref(),
            Some("jane@example.org")
        );
    }

    #[test]
    fn keeps_an_apostrophe_inside_the_local_part() {
        assert_eq!(
            extract_email("write to o'brien@example.ie").as_deref(),
            Some("o'brien@example.ie")
        );
        assert_eq!(
            extract_email("'jane@example.org'").as_deref(),
            Some("jane@example.org")
        );
    }

    #[test]
    fn tolerates_spaces_around_the_at_sign() {
        assert_eq!(
            extract_email("it is jane @ example.org").as_deref(),
            Some("jane@example.org")
        );
    }

    #[test]
    fn rejects_incomplete_or_malformed_addresses() {
        for text in [
            "jane@",
            "@example.org",
            "jane@localhost",
            "foo@bar..com",
            "I'm at home right now",
            "meet me at 5 dot 30",
            "jane@example.c",
            "jane@123.456",
            "",
        ] {
            assert_eq!(extract_email(text), None, "{text:?}");
        }
    }

    #[test]
    fn skips_an_invalid_candidate_and_finds_the_next() {
        assert_eq!(
            extract_email("not foo@bar..com but jane@example.org").as_deref(),
            Some("jane@example.org")
        );
        assert_eq!(
            extract_email("I'm at work, my email is jane at example dot com").as_deref(),
            Some("jane@example.com")
        );
    }

    #[test]
    fn validates_whole_addresses() {
        assert!(is_valid_email("jane.doe@example.org"));
        assert!(is_valid_email("o'brien@example.ie"));
        assert!(is_valid_email("jörg@müller.de"));
        assert!(!is_valid_email("jane@localhost"));
        assert!(!is_valid_email("jane.@example.org"));
        assert!(!is_valid_email(".jane@example.org"));
        assert!(!is_valid_email("ja..ne@example.org"));
        assert!(!is_valid_email("jane@-example.org"));
        assert!(!is_valid_email("jane@example.org "));
        assert!(!is_valid_email("jane@@example.org"));
        assert!(!is_valid_email("jane doe@example.org"));
        assert!(!is_valid_email(&format!("{}@example.org", "a".repeat(65))));
    }

    proptest! {
        #[test]
        fn extract_email_never_panics(s in any::<String>()) {
            let _ = extract_email(&s);
        }

        #[test]
        fn extracted_addresses_are_always_valid(
            prefix in "[a-zA-Z ,.:<(]{0,12}",
            local in "[a-z][a-z0-9._+-]{0,10}[a-z0-9]",
            domain in "[a-z][a-z0-9-]{0,8}[a-z0-9]\\.(com|org|co\\.uk|de)",
            suffix in "[ ,.!)>]{0,4}",
        ) {
            let text = format!("{prefix}{local}@{domain}{suffix}");
            if let Some(found) = extract_email(&text) {
                prop_assert!(is_valid_email(&found), "{found}");
            }
            if !local.contains("..") && !prefix.ends_with(|c: char| c.is_alphanumeric() || c == '.') {
                prop_assert_eq!(extract_email(&text), Some(format!("{local}@{domain}")));
            }
        }
    }
}
