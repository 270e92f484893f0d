//! TEMPORARY stand-in.
pub fn extract_email(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| w.contains('@') && w.contains('.'))
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
}
