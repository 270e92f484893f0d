//! Text normalisation shared by the knowledge base, intent detection, email extraction and
//! order detection: lowercase, diacritics folded to ASCII, punctuation turned into token breaks.
//!
//! Pure string functions; no knowledge of phrases or entries lives here.

/// Folds one lowercase character to its unaccented ASCII form (`é` -> `e`, `ß` -> `ss`).
/// Characters outside the Latin ranges are returned unchanged.
pub(crate) fn fold_char(c: char, out: &mut String) {
    let folded: &str = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' => "s",
        'ţ' | 'ť' | 'ŧ' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'þ' => "th",
        'ð' => "d",
        _ => {
            out.push(c);
            return;
        }
    };
    out.push_str(folded);
}

/// Lowercases and folds diacritics, keeping every other character (punctuation included).
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        for lower in c.to_lowercase() {
            fold_char(lower, &mut out);
        }
    }
    out
}

/// Splits text into lowercase, unaccented alphanumeric tokens. Apostrophes and all other
/// punctuation break tokens, so "don't" is `["don", "t"]` and "l'agent" is `["l", "agent"]`:
/// the phrase matchers rely on that to see "agent" in French elisions.
pub(crate) fn tokens(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Splits text into clauses (at sentence punctuation, commas, semicolons, colons, dashes and
/// line breaks), each a list of tokens. Negations are scoped to a clause: "I don't know, can I
/// talk to a human?" holds a request in its second clause.
pub(crate) fn clauses(text: &str) -> Vec<Vec<String>> {
    fold(text)
        .split([
            '.', ',', ';', ':', '!', '?', '\n', '\r', '(', ')', '–', '—', '¿', '¡',
        ])
        .map(tokens)
        .filter(|t| !t.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_lowercase_and_unaccented() {
        assert_eq!(
            tokens("Parler à un CONSEILLER, s'il vous plaît!"),
            vec![
                "parler",
                "a",
                "un",
                "conseiller",
                "s",
                "il",
                "vous",
                "plait"
            ]
        );
        assert_eq!(tokens("Straße"), vec!["strasse"]);
        assert_eq!(tokens("don't"), vec!["don", "t"]);
    }

    #[test]
    fn clauses_split_at_punctuation() {
        let c = clauses("I don't know, can I talk to a human?");
        assert_eq!(c.len(), 2);
        assert_eq!(c[1], vec!["can", "i", "talk", "to", "a", "human"]);
    }
}
