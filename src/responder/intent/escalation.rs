//! Families of handover requests and frustration that need more than a verb and a target:
//! callbacks and phone requests, asking for a real person, payment disputes, threats (public
//! reviews, consumer agencies, lawyers), cancelling everything, "do you even read", and a few
//! shapes of exasperation. Each family is a small grammar over normalised tokens (see
//! [`super::text`]) in the seven languages, not a list of sentences, and each is scoped to a
//! clause and checked for negation where a negation can turn it around.

use super::{find_all, has, is_negation, negated, phrase_tokens};

// ---------------------------------------------------------------------------------------------
// Callbacks and phone requests (handover, reason requested)
// ---------------------------------------------------------------------------------------------

/// Verbs and nouns of calling someone on the phone, in their common forms.
const CALL_WORDS: &[&str] = &[
    "call",
    "ring",
    "phone",
    "callback",
    "rappeler",
    "rappelez",
    "rappelle",
    "rappel",
    "appeler",
    "appelez",
    "appelle",
    "telephoner",
    "anrufen",
    "anruf",
    "ruf",
    "rufen",
    "ruft",
    "zuruckrufen",
    "zuruckruf",
    "ruckruf",
    "telefonieren",
    "llamar",
    "llamen",
    "llame",
    "llamada",
    "llamadme",
    "llamame",
    "llameme",
    "telefonear",
    "richiamare",
    "richiamate",
    "richiami",
    "richiamata",
    "chiamare",
    "chiamate",
    "chiami",
    "chiamata",
    "telefonare",
    "telefonata",
    "bellen",
    "bel",
    "belt",
    "terugbellen",
    "terugbelt",
    "opbellen",
    "ligar",
    "ligue",
    "liguem",
    "ligam",
    "ligacao",
    "telefonar",
    "telefonema",
];

/// Other ways of getting in touch: they ask for a person only beside a phone number ("text me
/// on 07700 900123", "you can reach me on ..."): "text me the tracking link" is not one.
const CONTACT_BY_NUMBER: &[&str] = &[
    "text",
    "whatsapp",
    "sms",
    "reach",
    "contact",
    "joindre",
    "contacter",
    "erreichen",
    "kontaktieren",
    "contactar",
    "localizar",
    "raggiungere",
    "contattare",
    "bereiken",
    "contatar",
    "contactem",
    "contacteer",
];

/// Call verbs with the customer attached as a clitic ("llamarme", "richiamarmi", "ligarme").
const CALL_ME_WORDS: &[&str] = &[
    "llamarme",
    "llamenme",
    "llameme",
    "llamadme",
    "llamame",
    "contactarme",
    "richiamarmi",
    "chiamarmi",
    "contattarmi",
    "richiamatemi",
    "chiamatemi",
    "ligarme",
    "rappelez",
    "appelez",
    "callback",
    "ruckruf",
    "zuruckruf",
    "richiamata",
];

/// Object pronouns for the customer near a call verb ("call me", "mich anrufen", "me llamen").
const ME: &[&str] = &[
    "me", "moi", "m", "nous", "mich", "uns", "mi", "mij", "me", "ons", "nos", "us",
];

/// Articles and possessives that make a call word a noun ("a call", "my phone").
const DETERMINERS: &[&str] = &[
    "a", "an", "the", "my", "your", "mon", "ma", "mes", "le", "la", "un", "une", "votre", "mein",
    "meine", "meinen", "ein", "eine", "einen", "die", "der", "ihre", "el", "una", "uno", "mi",
    "su", "il", "mio", "mia", "suo", "mijn", "de", "het", "een", "uw", "o", "um", "uma", "meu",
    "minha", "seu", "sua",
];

/// Third parties whose calls a customer asks about ("will the driver ring me?"): not a request
/// for the shop's people.
const THIRD_PARTIES: &[&str] = &[
    "driver",
    "courier",
    "delivery",
    "postman",
    "carrier",
    "dhl",
    "ups",
    "dpd",
    "fedex",
    "livreur",
    "transporteur",
    "facteur",
    "paketbote",
    "fahrer",
    "zusteller",
    "bote",
    "repartidor",
    "mensajero",
    "transportista",
    "corriere",
    "bezorger",
    "koerier",
    "chauffeur",
    "entregador",
    "transportadora",
    "carteiro",
    "bank",
    "banque",
    "banco",
    "they",
    "ils",
];

/// Words after "call me" that make it an idiom ("call me crazy, but ...").
const CALL_ME_IDIOMS: &[&str] = &[
    "crazy",
    "old",
    "oldfashioned",
    "paranoid",
    "picky",
    "fussy",
    "silly",
    "stupid",
    "impatient",
];

/// Whether the message holds a phone number: at least nine digits in groups joined by single
/// spaces, dots, dashes or slashes (an optional leading "+", brackets allowed). Order numbers
/// are shorter; tracking numbers usually carry letters.
pub(super) fn has_phone_number(text: &str) -> bool {
    let mut digits = 0usize;
    let mut separators = 0usize;
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits += 1;
            separators = 0;
            if digits >= 9 {
                return true;
            }
        } else if matches!(c, ' ' | '.' | '-' | '/' | '(' | ')' | '+') {
            separators += 1;
            if separators > 2 {
                digits = 0;
            }
        } else {
            digits = 0;
            separators = 0;
        }
    }
    false
}

/// "Call me on 07700 900123", "can u ring me pls", "können Sie mich zurückrufen", "me pueden
/// llamar", "potete richiamarmi", "podem me ligar", "callback please": a call verb aimed at the
/// customer (a pronoun next to it, a clitic, or a phone number in the message), not negated,
/// not a courier's call and not "call me crazy".
pub(super) fn asks_for_callback(clause: &[String], phone_number: bool) -> bool {
    if clause.iter().any(|t| has(THIRD_PARTIES, t)) {
        return false;
    }
    (0..clause.len()).any(|i| {
        let t = clause[i].as_str();
        let call = has(CALL_WORDS, t) || (phone_number && has(CONTACT_BY_NUMBER, t));
        let attached = has(CALL_ME_WORDS, t);
        if !call && !attached {
            return false;
        }
        let me_before = (i.saturating_sub(3)..i).any(|k| has(ME, &clause[k]));
        let me_after = clause.get(i + 1).is_some_and(|n| has(ME, n))
            && !clause.get(i + 2).is_some_and(|n| has(CALL_ME_IDIOMS, n));
        // "call me back", "rappelez-moi", "llamarme"; or any call word beside a phone number
        // ("0612345679, appel svp").
        // "I want to call", "I need to phone someone": the customer wants a phone call.
        let wants = (i.saturating_sub(3)..i).any(|k| {
            has(
                &[
                    "want", "need", "wanna", "like", "veux", "voudrais", "mochte", "will",
                    "quiero", "voglio", "vorrei", "wil", "quero",
                ],
                &clause[k],
            )
        }) && call;
        // "My phone number is ...", "I missed a call from 07700 ...": the word is a noun, and a
        // number beside it is not a request to be called.
        let noun = clause
            .get(i + 1)
            .is_some_and(|n| has(&["number", "numero", "nummer", "no", "nr", "num"], n))
            || (i > 0 && has(DETERMINERS, &clause[i - 1]));
        let aimed = attached || me_before || me_after || ((phone_number || wants) && !noun);
        // "Do you call before delivery?": a question about the shop's habits, not a request.
        let habit =
            i > 0 && has(&["do", "does", "will"], &clause[i - 1]) && !me_after && !me_before
                || clause.first().is_some_and(|f| f == "do" || f == "does");
        aimed && !habit && !negated_within(clause, i, 6)
    })
}

/// Whether a negation stands in the `window` words before `at` ("I don't need anyone to call
/// me"), or right at it; a negation before a pronoun is a question inversion ("can't you call
/// me?"), not a refusal.
fn negated_within(clause: &[String], at: usize, window: usize) -> bool {
    (at.saturating_sub(window)..=at).any(|k| {
        is_negation(clause, k) && !clause.get(k + 1).is_some_and(|n| has(super::PRONOUNS, n))
    })
}

// ---------------------------------------------------------------------------------------------
// A real person, a person on the phone, a person rather than a bot (reason requested)
// ---------------------------------------------------------------------------------------------

/// "Real" in the sense of "a human, not the bot".
const REAL: &[&str] = &[
    "real",
    "actual",
    "live",
    "proper",
    "vrai",
    "vraie",
    "veritable",
    "echt",
    "echte",
    "echten",
    "echter",
    "echtes",
    "wirklichen",
    "verdadero",
    "verdadera",
    "vero",
    "vera",
    "reale",
    "verdadeiro",
    "verdadeira",
];

/// Words for a person, for [`REAL`] and [`ON_THE_PHONE`] to qualify.
const PERSON: &[&str] = &[
    "person",
    "human",
    "agent",
    "someone",
    "somebody",
    "people",
    "personne",
    "humain",
    "agent",
    "conseiller",
    "quelqu",
    "quelquun",
    "mensch",
    "menschen",
    "jemand",
    "jemanden",
    "mitarbeiter",
    "persona",
    "humano",
    "agente",
    "alguien",
    "umano",
    "qualcuno",
    "operatore",
    "persoon",
    "mens",
    "iemand",
    "medewerker",
    "pessoa",
    "alguem",
    "atendente",
];

/// Phrases of being on the phone: "someone on the phone", "iemand aan de lijn".
const ON_THE_PHONE: &[&str] = &[
    "on the phone",
    "on the line",
    "by phone",
    "au telephone",
    "par telephone",
    "am telefon",
    "ans telefon",
    "al telefono",
    "por telefono",
    "per telefono",
    "aan de lijn",
    "aan de telefoon",
    "telefonisch",
    "ao telefone",
    "no telefone",
    "por telefone",
];

/// Words that oppose the person to the bot: "a human instead of a bot", "een mens ipv een bot".
const INSTEAD: &[&str] = &[
    "not", "instead", "rather", "than", "ipv", "plaats", "plutot", "pas", "statt", "anstatt",
    "nicht", "kein", "keinen", "no", "vez", "lugar", "invece", "non", "niet", "geen", "nao",
];
const BOT: &[&str] = &[
    "bot", "bots", "robot", "robots", "chatbot", "machine", "ai", "ia", "ki", "computer",
];

/// "I want a real person", "je peux avoir un vrai agent", "gibt es jemand echten", "someone
/// on the phone", "een mens ipv een bot": a person qualified as real, reachable by phone, or
/// opposed to the bot. The negation of the person itself ("no real person could ...") is
/// checked; identity questions ("are you a real person?") are ruled out by the caller.
pub(super) fn wants_a_real_person(clause: &[String]) -> bool {
    let person_at = |i: usize| clause.get(i).is_some_and(|t| has(PERSON, t));
    for i in 0..clause.len() {
        if !has(REAL, &clause[i]) {
            continue;
        }
        // "real person", "vrai agent", "jemand echten", "persona real"; not "real estate agent".
        let near = [i + 1]
            .into_iter()
            .chain(i.checked_sub(1))
            .find(|&k| person_at(k));
        if let Some(k) = near
            && !negated(clause, i.min(k), i.max(k))
        {
            return true;
        }
    }
    for phrase in ON_THE_PHONE.iter().map(|p| phrase_tokens(p)) {
        for at in find_all(clause, &phrase) {
            if (at.saturating_sub(4)..at).any(person_at) && !negated(clause, at, at) {
                return true;
            }
        }
    }
    // "a human, not a bot" / "een mens ipv een bot": person, then a contrast, then the bot.
    for i in 0..clause.len() {
        if !person_at(i) || negated(clause, i, i) {
            continue;
        }
        let contrast = (i + 1..clause.len().min(i + 4)).find(|&k| has(INSTEAD, &clause[k]));
        if let Some(c) = contrast
            && (c + 1..clause.len().min(c + 4)).any(|k| has(BOT, &clause[k]))
        {
            return true;
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Frustration: disputes, threats, cancelling everything, "do you even read"
// ---------------------------------------------------------------------------------------------

/// Words that are a payment dispute by themselves.
const DISPUTE_WORDS: &[&str] = &[
    "chargeback",
    "chargebacks",
    "ruckbuchung",
    "zuruckbuchen",
    "zuruckbuchung",
    "contracargo",
    "terugboeking",
    "terugboeken",
    "retrofacturation",
];

/// Verbs of disputing, with a payment word after them ("disputing the payment", "contester le
/// prélèvement", "contestar a compra").
const DISPUTE_VERBS: &[&str] = &[
    "dispute",
    "disputing",
    "disputed",
    "contester",
    "conteste",
    "contestar",
    "contestare",
    "contesto",
    "widersprechen",
    "disputa",
    "disputar",
    "betwisten",
    "betwist",
];

/// Nouns of a dispute opened with a payment provider ("opened a dispute on PayPal", "fait
/// opposition auprès de ma banque", "ho aperto una contestazione").
const DISPUTE_NOUNS: &[&str] = &[
    "dispute",
    "disputa",
    "opposition",
    "litige",
    "contestazione",
    "contestacao",
    "widerspruch",
    "geschil",
];

/// Payment words a dispute is about.
const PAYMENT: &[&str] = &[
    "payment",
    "charge",
    "charges",
    "transaction",
    "purchase",
    "order",
    "paypal",
    "bank",
    "card",
    "credit",
    "paiement",
    "prelevement",
    "achat",
    "commande",
    "banque",
    "carte",
    "zahlung",
    "abbuchung",
    "lastschrift",
    "kauf",
    "bestellung",
    "kreditkarte",
    "pago",
    "cargo",
    "compra",
    "banco",
    "tarjeta",
    "pagamento",
    "addebito",
    "acquisto",
    "ordine",
    "carta",
    "banca",
    "betaling",
    "afschrijving",
    "aankoop",
    "bestelling",
    "creditcard",
    "cobranca",
    "cartao",
    "pedido",
];

/// "I'm disputing the payment with PayPal", "I've contacted my bank to do a chargeback",
/// "j'ai fait opposition auprès de ma banque", "ya he abierto una disputa en paypal",
/// "vou contestar a compra no cartão".
fn payment_dispute(tokens: &[String]) -> bool {
    if tokens.iter().any(|t| has(DISPUTE_WORDS, t)) {
        return true;
    }
    let near_payment = |i: usize, before: usize, after: usize| {
        (i.saturating_sub(before)..tokens.len().min(i + after + 1))
            .any(|k| k != i && has(PAYMENT, &tokens[k]))
    };
    (0..tokens.len()).any(|i| {
        let t = &tokens[i];
        (has(DISPUTE_VERBS, t) && near_payment(i, 0, 3))
            || (has(DISPUTE_NOUNS, t) && near_payment(i, 4, 4))
            || (t == "charge" && tokens.get(i + 1).is_some_and(|n| n == "back"))
    })
}

/// Names of places where customers complain in public.
const PUBLIC: &[&str] = &[
    "trustpilot",
    "twitter",
    "facebook",
    "instagram",
    "tiktok",
    "reddit",
    "youtube",
    "linkedin",
    "google",
    "yelp",
    "reclameaqui",
    "reclame",
    "social",
    "socials",
    "reseaux",
    "sozialen",
    "redes",
    "sociale",
    "sociais",
    "internet",
    "everywhere",
    "partout",
    "uberall",
    "ovunque",
    "overal",
];

/// Markers of what the customer is about to do ("I'm going to", "I'll", "je vais", "ich
/// werde", "voy a", "vado a", "ik ga", "vou").
const FUTURE: &[&str] = &[
    "going", "gonna", "will", "ll", "m", "am", "be", "vais", "allons", "werde", "werden", "voy",
    "vamos", "vado", "andro", "ga", "gaan", "vou",
];

/// Verbs of telling the public.
const POST: &[&str] = &[
    "post",
    "posting",
    "share",
    "sharing",
    "report",
    "reporting",
    "write",
    "writing",
    "expose",
    "warn",
    "tell",
    "publish",
    "tweet",
    "publier",
    "publie",
    "partager",
    "signaler",
    "ecrire",
    "poster",
    "posten",
    "teilen",
    "melden",
    "schreiben",
    "veroffentlichen",
    "publicar",
    "compartir",
    "denunciar",
    "escribir",
    "pubblicare",
    "condividere",
    "segnalare",
    "scrivere",
    "plaatsen",
    "delen",
    "schrijven",
    "melden",
    "postar",
    "compartilhar",
    "escrever",
    "expor",
];

/// Bad ratings: "1 star", "one star", "bad review", "avis négatif", "schlechte Bewertung".
const REVIEW: &[&str] = &[
    "review",
    "reviews",
    "rating",
    "ratings",
    "star",
    "stars",
    "avis",
    "note",
    "etoile",
    "etoiles",
    "bewertung",
    "bewertungen",
    "rezension",
    "stern",
    "sterne",
    "resena",
    "resenas",
    "opinion",
    "valoracion",
    "estrella",
    "estrellas",
    "recensione",
    "recensioni",
    "stella",
    "stelle",
    "beoordeling",
    "recensie",
    "ster",
    "sterren",
    "avaliacao",
    "estrela",
    "estrelas",
];
const BAD: &[&str] = &[
    "1",
    "one",
    "0",
    "zero",
    "bad",
    "negative",
    "terrible",
    "awful",
    "horrible",
    "scathing",
    "mauvais",
    "mauvaise",
    "negatif",
    "schlechte",
    "schlechten",
    "negativen",
    "mala",
    "malas",
    "negativa",
    "pesima",
    "pessima",
    "cattiva",
    "slechte",
    "negatieve",
    "ruim",
    "pessimo",
];

/// Consumer agencies, regulators and the law.
const AUTHORITIES: &[&str] = &[
    "bbb",
    "ombudsman",
    "lawyer",
    "lawyers",
    "solicitor",
    "solicitors",
    "attorney",
    "dgccrf",
    "signalconso",
    "avocat",
    "avocats",
    "mediateur",
    "verbraucherzentrale",
    "anwalt",
    "rechtsanwalt",
    "anwaltin",
    "verklagen",
    "schlichtungsstelle",
    "abogado",
    "abogados",
    "denuncia",
    "denunciar",
    "denunciare",
    "denuncio",
    "ocu",
    "facua",
    "avvocato",
    "avvocati",
    "codacons",
    "altroconsumo",
    "advocaat",
    "consumentenbond",
    "geschillencommissie",
    "aangifte",
    "advogado",
    "procon",
];

/// Multi-word authorities and legal threats.
const AUTHORITY_PHRASES: &[&str] = &[
    "trading standards",
    "citizens advice",
    "better business bureau",
    "consumer rights",
    "consumer protection",
    "small claims",
    "legal action",
    "take you to court",
    "see you in court",
    "que choisir",
    "porter plainte",
    "deposer plainte",
    "sue you",
    "suing you",
    "sue your",
    "hoja de reclamaciones",
    "livro de reclamacoes",
    "reclame aqui",
    "juridische stappen",
    "rechtliche schritte",
    "azioni legali",
    "acciones legales",
    "action en justice",
    "medidas legais",
];

/// "Going to report this on Trustpilot", "posting screenshots on twitter", "a 1 star review
/// everywhere", "ik ga een slechte review schrijven", "I'll be contacting the BBB", "vi
/// denuncio", "je vais contacter la DGCCRF", "ich schalte die Verbraucherzentrale ein".
fn threatens(text: &str, tokens: &[String]) -> bool {
    // A lawyer or an agency in a question is a plain question ("my lawyer friend recommended
    // you, do you ship to Malta?") unless the customer says what they are about to do.
    let intent = !text.contains('?') || tokens.iter().any(|t| has(FUTURE, t));
    let authority = (intent && tokens.iter().any(|t| has(AUTHORITIES, t)))
        || AUTHORITY_PHRASES
            .iter()
            .any(|p| !find_all(tokens, &phrase_tokens(p)).is_empty());
    // "1 star review", "bad review", "avis négatif" (the bad word on either side).
    // "1 star review", "bad review", "avis négatif" (the bad word on either side).
    let bad_review = (0..tokens.len()).any(|i| {
        has(REVIEW, &tokens[i])
            && ((i.saturating_sub(2)..i).any(|k| has(BAD, &tokens[k]))
                || tokens.get(i + 1).is_some_and(|n| {
                    has(
                        &["negatif", "negative", "negativa", "negativo", "negatieve"],
                        n,
                    )
                }))
            && !negated(tokens, i, i)
    });
    // "Going to report this on Trustpilot", "I'm posting screenshots on twitter": an intent
    // to go public (not "can I share my code on facebook?").
    let public = (0..tokens.len()).any(|i| {
        has(POST, &tokens[i])
            && (i.saturating_sub(4)..i).any(|k| has(FUTURE, &tokens[k]))
            && (i + 1..tokens.len().min(i + 8)).any(|k| has(PUBLIC, &tokens[k]))
    });
    authority || bad_review || public
}

/// Verbs of cancelling, as an order to the shop.
const CANCEL: &[&str] = &[
    "cancel",
    "annulez",
    "annuler",
    "stornieren",
    "storniert",
    "cancelen",
    "cancelad",
    "cancela",
    "cancelem",
    "cancelar",
    "annullate",
    "annulla",
    "annullare",
    "annuleer",
    "annuleren",
    "cancellate",
];
/// Everything / every ("cancel all my orders" may be a plain request: it is not here).
const ALL: &[&str] = &[
    "everything",
    "every",
    "tout",
    "alles",
    "todo",
    "tutto",
    "tudo",
];

/// "Never again": "never buying from you again", "plus jamais", "nie wieder", "nunca más",
/// "mai più", "nooit meer", "nunca mais"; and "done with you", "you lost a customer".
const NEVER_AGAIN: &[&[&str]] = &[
    &["plus", "jamais"],
    &["nie", "wieder"],
    &["nie", "mehr"],
    &["nunca", "mas"],
    &["mai", "piu"],
    &["nooit", "meer"],
    &["nunca", "mais"],
    &["never", "again"],
    &["lost", "a", "customer"],
    &["lost", "me", "as", "a", "customer"],
    &["perdu", "un", "client"],
    &["einen", "kunden", "verloren"],
    &["perdido", "un", "cliente"],
    &["perso", "un", "cliente"],
    &["klant", "kwijt"],
];
const DONE_WITH: &[&[&str]] = &[
    &["done", "with", "you"],
    &["done", "with", "u"],
    &["done", "with", "this"],
    &["done", "with", "your"],
    &["finished", "with", "you"],
    &["fini", "avec", "vous"],
    &["fertig", "mit", "euch"],
    &["fertig", "mit", "ihnen"],
    &["harto", "de", "vosotros"],
    &["harto", "de", "ustedes"],
];
/// Verbs of buying that "never ... again" is about ("never ordering from you again").
const BUY: &[&str] = &[
    "buy",
    "buying",
    "order",
    "ordering",
    "shop",
    "shopping",
    "purchase",
    "purchasing",
    "use",
    "using",
];

/// "Cancel everything", "cancel every order", "cancelem tudo", "never buying from you again",
/// "nunca mais compro aqui", "I'm done with you lot".
fn gives_up_on_the_shop(tokens: &[String], clauses: &[Vec<String>]) -> bool {
    // An order, not a question: the cancel verb opens its clause (after "please", "just").
    let cancel_all = clauses.iter().any(|c| {
        let start = c
            .iter()
            .position(|t| !has(&["please", "pls", "just", "so", "then", "now", "and"], t))
            .unwrap_or(0);
        c.get(start).is_some_and(|t| has(CANCEL, t))
            && (start + 1..c.len().min(start + 4)).any(|k| has(ALL, &c[k]))
    });
    let never_again = NEVER_AGAIN.iter().any(|seq| {
        !find_all(
            tokens,
            &seq.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>(),
        )
        .is_empty()
    });
    // "never buying from you again": never, a buying verb, "again" within a few words.
    let never_buy = (0..tokens.len()).any(|i| {
        tokens[i] == "never"
            && tokens
                .get(i + 1)
                .is_some_and(|n| has(BUY, n) || n == "will" || n == "ll")
            && (i + 2..tokens.len().min(i + 7)).any(|k| tokens[k] == "again")
    }) || tokens
        .windows(2)
        .any(|w| w[0] == "never" && has(&["recommend", "recommending"], &w[1]));
    let done = DONE_WITH.iter().any(|seq| {
        !find_all(
            tokens,
            &seq.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>(),
        )
        .is_empty()
    });
    cancel_all || never_again || never_buy || done
}

/// Second-person forms of reading or listening ("lisez", "liest", "leggete", "leem").
const READ_YOU: &[&str] = &[
    "lisez",
    "ecoutez",
    "liest",
    "lest",
    "lees",
    "leeis",
    "leen",
    "leggete",
    "leggi",
    "leest",
    "leem",
    "ouvem",
    "escuchan",
    "escuchas",
    "ascoltate",
    "leu",
];
/// Other forms of reading or listening, which need "you" nearby ("do you even read").
const READ: &[&str] = &[
    "read",
    "reading",
    "listen",
    "listening",
    "lire",
    "lesen",
    "leer",
    "leggere",
    "lezen",
    "ler",
    "lu",
    "gelesen",
    "leido",
    "letto",
    "gelezen",
    "lido",
];
const YOU: &[&str] = &[
    "you", "u", "vous", "tu", "sie", "du", "ihr", "usted", "ustedes", "voi", "lei", "je", "jullie",
    "voce", "voces", "vcs",
];
/// "Even", "at least", "at all" in a question about reading.
const EVEN: &[&str] = &[
    "even",
    "actually",
    "moins",
    "meme",
    "uberhaupt",
    "eigentlich",
    "siquiera",
    "almeno",
    "wel",
    "eigenlijk",
    "sequer",
    "mesmo",
    "ueberhaupt",
];
/// What the customer wrote (first person).
const I_WROTE: &[&str] = &[
    "ecris",
    "ecrit",
    "dis",
    "schreibe",
    "geschrieben",
    "sage",
    "escribo",
    "escribi",
    "digo",
    "scrivo",
    "scritto",
    "dico",
    "schrijf",
    "geschreven",
    "zeg",
    "escrevo",
    "escrevi",
    "digo",
];

/// "Do you even read what I write?", "are you even listening", "vous lisez au moins ce que
/// j'écris ?", "lesen Sie überhaupt, was ich schreibe?", "¿pero lees lo que te escribo?",
/// "ma leggete quello che scrivo?", "vocês leem o que eu escrevo?".
fn not_read(tokens: &[String]) -> bool {
    (0..tokens.len()).any(|i| {
        let you = has(READ_YOU, &tokens[i])
            || (has(READ, &tokens[i])
                && (i.saturating_sub(4)..tokens.len().min(i + 3)).any(|k| has(YOU, &tokens[k])));
        if !you {
            return false;
        }
        let even = (i.saturating_sub(2)..tokens.len().min(i + 4)).any(|k| has(EVEN, &tokens[k]));
        let wrote = (i + 1..tokens.len().min(i + 6)).any(|k| {
            has(I_WROTE, &tokens[k])
                || (has(
                    &["write", "wrote", "said", "say", "typed", "asked"],
                    &tokens[k],
                ) && tokens.get(k - 1).is_some_and(|p| p == "i"))
        });
        // "Did you read my message?" asks; "you didn't read my message" complains.
        let didnt = (i.saturating_sub(3)..i).any(|k| is_negation(tokens, k))
            && (i.saturating_sub(4)..i).any(|k| has(&["you", "u"], &tokens[k]))
            && tokens
                .first()
                .is_none_or(|f| !has(&["did", "do", "have", "can"], f));
        even || wrote || didnt
    }) || (0..tokens.len()).any(|i| {
        // "Is anybody reading this?"
        has(&["anybody", "anyone", "somebody", "someone"], &tokens[i])
            && tokens
                .get(i + 1)
                .is_some_and(|n| has(&["reading", "read", "listening"], n))
    })
}

/// "You don't understand anything", "vous ne comprenez rien", "Sie verstehen nicht",
/// "no entiendes nada", "non capisci niente", "je begrijpt het niet", "você não entende":
/// the customer saying the bot does not understand (not "I don't understand the chart").
fn not_understood(tokens: &[String]) -> bool {
    const UNDERSTAND: &[&str] = &[
        "understand",
        "understanding",
        "get",
        "comprenez",
        "comprends",
        "comprend",
        "verstehen",
        "verstehst",
        "versteht",
        "entiendes",
        "entiende",
        "entienden",
        "entendeis",
        "capisci",
        "capite",
        "capisce",
        "begrijp",
        "begrijpt",
        "begrijpen",
        "snap",
        "snapt",
        "entende",
        "entendem",
        "entendeu",
    ];
    const YOU_FORMS: &[&str] = &[
        "you", "u", "vous", "tu", "sie", "du", "ihr", "usted", "ustedes", "voi", "lei", "jij",
        "jullie", "voce", "voces", "vcs", "bot",
    ];
    (0..tokens.len()).any(|i| {
        if !has(UNDERSTAND, &tokens[i])
            || (tokens[i] == "get" && tokens.get(i + 1).is_none_or(|n| n != "it"))
        {
            return false;
        }
        // Second-person forms say "you" by themselves ("no entiendes nada", "non capisci").
        let you = has(
            &[
                "comprenez",
                "verstehst",
                "entiendes",
                "entienden",
                "entendeis",
                "capisci",
                "capite",
                "begrijpt",
                "snapt",
                "entendem",
            ],
            &tokens[i],
        ) || (i.saturating_sub(4)..tokens.len().min(i + 2))
            .any(|k| has(YOU_FORMS, &tokens[k]));
        let not = (i.saturating_sub(3)..tokens.len().min(i + 3)).any(|k| is_negation(tokens, k))
            || (i + 1..tokens.len().min(i + 3)).any(|k| {
                has(
                    &[
                        "nothing", "rien", "nichts", "nada", "niente", "nulla", "niks", "niets",
                    ],
                    &tokens[k],
                )
            });
        // "Do you understand?", "don't you understand that ...": a question is still a question.
        let question = tokens
            .first()
            .is_some_and(|f| has(&["do", "does", "can", "did"], f));
        you && not && !question
    })
}

/// "Worst company ever", "worst shop I've used", "le pire service", "der schlechteste Laden",
/// "el peor servicio", "il peggiore negozio", "a pior loja".
fn worst_ever(tokens: &[String]) -> bool {
    const WORST: &[&str] = &[
        "worst",
        "pire",
        "schlechteste",
        "schlechtesten",
        "peor",
        "peggiore",
        "peggior",
        "slechtste",
        "pior",
    ];
    const WHAT: &[&str] = &[
        "ever",
        "company",
        "shop",
        "store",
        "experience",
        "service",
        "support",
        "website",
        "entreprise",
        "boutique",
        "magasin",
        "firma",
        "laden",
        "shop",
        "empresa",
        "tienda",
        "servicio",
        "azienda",
        "negozio",
        "servizio",
        "bedrijf",
        "winkel",
        "loja",
        "servico",
        "atendimento",
        "jamais",
        "jemals",
        "nunca",
        "mai",
        "ooit",
    ];
    (0..tokens.len()).any(|i| {
        has(WORST, &tokens[i]) && (i + 1..tokens.len().min(i + 4)).any(|k| has(WHAT, &tokens[k]))
    })
}

/// "The last time I order from you", "la dernière fois que je commande chez vous", "das letzte
/// Mal, dass ich hier bestelle", "la última vez que compro aquí".
fn last_time_buying(tokens: &[String]) -> bool {
    const LAST: &[&str] = &["last", "derniere", "letzte", "ultima", "laatste"];
    const TIME: &[&str] = &["time", "fois", "mal", "vez", "volta", "keer"];
    const ORDER: &[&str] = &[
        "order", "buy", "shop", "ordering", "buying", "commande", "achete", "bestelle", "kaufe",
        "compro", "pido", "ordino", "compro", "bestel", "koop", "compro", "peco",
    ];
    (0..tokens.len().saturating_sub(1)).any(|i| {
        has(LAST, &tokens[i])
            && has(TIME, &tokens[i + 1])
            && (i + 2..tokens.len().min(i + 7)).any(|k| has(ORDER, &tokens[k]))
    })
}

/// "I've raised a claim with PayPal", "paypal case opened": a buyer-protection claim.
fn payment_claim(tokens: &[String]) -> bool {
    const PROVIDER: &[&str] = &["paypal", "klarna", "amex", "visa", "mastercard"];
    const CLAIM: &[&str] = &[
        "claim",
        "case",
        "reclamation",
        "fall",
        "reclamo",
        "reclamacion",
        "caso",
        "reclamo",
        "zaak",
        "claimen",
    ];
    (0..tokens.len()).any(|i| {
        has(PROVIDER, &tokens[i])
            && (i.saturating_sub(3)..tokens.len().min(i + 4)).any(|k| {
                has(CLAIM, &tokens[k])
                    && !(k > 0 && has(&["in", "en", "im", "no", "nel"], &tokens[k - 1]))
            })
    })
}

/// "A waste of (my) time", "perte de temps", "Zeitverschwendung", "pérdida de tiempo",
/// "perdita di tempo", "tijdverspilling", "perda de tempo".
fn waste_of_time(tokens: &[String]) -> bool {
    const WASTE: &[&str] = &[
        "waste",
        "wasting",
        "wasted",
        "perte",
        "perdre",
        "perdida",
        "perder",
        "perdita",
        "perdere",
        "verspilling",
        "verspillen",
        "perda",
    ];
    const TIME: &[&str] = &["time", "temps", "tiempo", "tempo", "tijd"];
    tokens.iter().any(|t| {
        has(
            &[
                "zeitverschwendung",
                "tijdverspilling",
                "timewaste",
                "timewaster",
            ],
            t,
        )
    }) || (0..tokens.len()).any(|i| {
        has(WASTE, &tokens[i]) && (i + 1..tokens.len().min(i + 4)).any(|k| has(TIME, &tokens[k]))
    })
}

/// "You've ruined my daughter's birthday", "vous avez gâché", "ihr habt ... ruiniert": the
/// shop blamed for ruining something.
fn blames_for_ruin(tokens: &[String]) -> bool {
    const RUINED: &[&str] = &[
        "ruined",
        "ruin",
        "ruining",
        "gache",
        "gaches",
        "ruine",
        "ruiniert",
        "versaut",
        "arruinado",
        "arruinaste",
        "arruinasteis",
        "rovinato",
        "rovinata",
        "verpest",
        "estragou",
        "estragaram",
        "arruinou",
        "arruinaram",
    ];
    const YOU: &[&str] = &[
        "you", "u", "youve", "vous", "ihr", "sie", "habt", "ustedes", "vosotros", "habeis", "voi",
        "avete", "jullie", "voces", "vcs",
    ];
    (0..tokens.len())
        .any(|i| has(RUINED, &tokens[i]) && (i.saturating_sub(4)..i).any(|k| has(YOU, &tokens[k])))
}

/// "Makes no sense", "n'a aucun sens", "ergibt keinen Sinn", "no tiene sentido", "non ha
/// senso", "slaat nergens op", "não faz sentido": only as a statement (a question with it is
/// still a question: "the size chart makes no sense, is M a 10?").
fn nonsense(text: &str, tokens: &[String]) -> bool {
    const PHRASES: &[&str] = &[
        "makes no sense",
        "make no sense",
        "doesn t make sense",
        "aucun sens",
        "keinen sinn",
        "no tiene sentido",
        "no tiene ningun sentido",
        "non ha senso",
        "non ha alcun senso",
        "slaat nergens op",
        "slaat nergens",
        "nao faz sentido",
        "nao faz nenhum sentido",
    ];
    !text.contains('?')
        && PHRASES
            .iter()
            .any(|p| !find_all(tokens, &phrase_tokens(p)).is_empty())
}

/// "Oh very helpful", "yeah really useful", "great, another automated answer", "super,
/// toujours rien": praise that a sceptical opener or a letdown turns around, in a message with
/// no thanks in it.
fn sarcastic_praise(tokens: &[String]) -> bool {
    const SCEPTIC: &[&str] = &["oh", "yeah", "yea", "ouais"];
    const SO: &[&str] = &[
        "so", "very", "really", "super", "tres", "sehr", "muy", "molto", "heel",
    ];
    const PRAISE: &[&str] = &[
        "helpful",
        "useful",
        "great",
        "brilliant",
        "genius",
        "fantastic",
        "amazing",
        "wonderful",
        "utile",
        "genial",
        "super",
        "hilfreich",
        "toll",
        "util",
        "utili",
        "nuttig",
        "handig",
        "perfect",
        "excellent",
    ];
    const NOTHING_AGAIN: &[&str] = &[
        "nothing", "rien", "nichts", "nada", "niente", "nulla", "niks", "niets",
    ];
    const CANNED: &[&str] = &[
        "automated",
        "useless",
        "bot",
        "copy",
        "pasted",
        "generic",
        "canned",
        "robot",
        "faq",
    ];
    if tokens.iter().any(|t| has(super::THANKS, t)) {
        return false;
    }
    let sceptic = tokens.first().is_some_and(|t| has(SCEPTIC, t))
        && tokens
            .windows(2)
            .take(4)
            .any(|w| has(SO, &w[0]) && has(PRAISE, &w[1]));
    let praised = tokens.iter().take(3).any(|t| has(PRAISE, t));
    let letdown = tokens.iter().any(|t| has(NOTHING_AGAIN, t))
        || tokens
            .windows(2)
            .any(|w| w[0] == "another" && has(CANNED, &w[1]));
    sceptic || (praised && letdown)
}

/// Emoji of anger or contempt: a frustration signal on their own ("oh brilliant, so helpful 🙄").
const ANGRY_EMOJI: &[char] = &['🙄', '😡', '😠', '🤬', '😤', '🖕', '👎', '💩', '🤡'];

/// The frustration families of this module found in `text`, by signal name: `dispute`,
/// `threat`, `gives_up`, `not_read`, `complaint` (waste of time, ruined, nonsense) and
/// `angry_emoji`.
pub(super) fn frustration_families(text: &str, tokens: &[String]) -> Vec<&'static str> {
    let clauses = super::text::clauses(text);
    let mut signals = Vec::new();
    if payment_dispute(tokens) || payment_claim(tokens) {
        signals.push("dispute");
    }
    if threatens(text, tokens) {
        signals.push("threat");
    }
    if gives_up_on_the_shop(tokens, &clauses) || last_time_buying(tokens) {
        signals.push("gives_up");
    }
    if not_read(tokens) || not_understood(tokens) {
        signals.push("not_read");
    }
    if waste_of_time(tokens)
        || blames_for_ruin(tokens)
        || nonsense(text, tokens)
        || sarcastic_praise(tokens)
        || worst_ever(tokens)
    {
        signals.push("complaint");
    }
    if text.chars().any(|c| ANGRY_EMOJI.contains(&c)) {
        signals.push("angry_emoji");
    }
    signals
}
