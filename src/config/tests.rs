use std::path::PathBuf;
use std::time::Duration;

use super::messages::*;
use super::validate::{check_cron, unknown_placeholders};
use super::*;

const KEY: &str = "sk-test-0123456789-SECRET";

fn env_with_key(name: &str) -> Option<String> {
    (name == ENV_GORGIAS_API_KEY).then(|| KEY.to_string())
}

fn parse(text: &str) -> Result<Config, ConfigErrors> {
    parse_str("config.toml", text, &env_with_key)
}

const MINIMAL: &str = r#"
[gorgias]
base_url = "https://your-store.gorgias.com/"
email = "bot@your-store.com"
"#;

fn errors_of(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.0,
    }
}

#[test]
fn knowledge_sources_parse_and_bad_ones_are_named() {
    let c = parse(&format!(
        "{MINIMAL}[kb]\nmacros = true\nmacro_name_prefix = \"FAQ: \"\n\
         macro_languages = [\"EN\", \"fr\"]\nrefresh = \"30m\"\n\
         sites = [\"https://help.example.com/sitemap.xml#top\", \"http://127.0.0.1:8080/faq?x=1\"]\n"
    ))
    .unwrap();
    assert!(c.kb.macros);
    assert_eq!(c.kb.macro_name_prefix.as_deref(), Some("FAQ: "));
    assert_eq!(c.kb.macro_languages, ["en", "fr"]);
    assert_eq!(c.kb.refresh, Duration::from_secs(1800));
    assert_eq!(
        c.kb.sites,
        [
            "https://help.example.com/sitemap.xml",
            "http://127.0.0.1:8080/faq?x=1"
        ]
    );
    let d = parse(MINIMAL).unwrap();
    assert!(!d.kb.macros && d.kb.sites.is_empty());
    assert_eq!(d.kb.refresh, Duration::from_secs(3600));
    let errors = errors_of(&format!(
        "{MINIMAL}[kb]\nsites = [\"ftp://x.example/a\", \"not a url\", \"https://a.example/\", \"https://a.example/\"]\n\
         site_max_pages = 0\nrefresh = \"0s\"\nmacro_languages = [\" \"]\n"
    ));
    let all = errors.join("\n");
    for want in [
        "kb.sites[0]: \"ftp://x.example/a\" must start with https://",
        "kb.sites[1]: \"not a url\" is not a URL",
        "kb.sites[3]: \"https://a.example/\" is listed twice",
        "kb.site_max_pages: 0 must be more than zero",
        "kb.refresh: \"0s\" must be more than zero",
        "kb.macro_languages:",
    ] {
        assert!(all.contains(want), "{want} not in:\n{all}");
    }
}

#[test]
fn minimal_file_gets_every_default() {
    let c = parse(MINIMAL).expect("minimal config parses");
    assert_eq!(c.gorgias.base_url, "https://your-store.gorgias.com");
    assert_eq!(c.gorgias.email, "bot@your-store.com");
    assert!(!c.gorgias.bearer);
    assert_eq!(c.gorgias.requests_per_window, 40);
    assert_eq!(c.gorgias.window, Duration::from_secs(20));
    assert_eq!(c.gorgias.timeout, Duration::from_secs(30));
    assert_eq!(c.gorgias.connect_timeout, Duration::from_secs(10));
    assert_eq!(c.bot.name, "PerfectBot");
    assert_eq!(c.bot.user_id, None);
    assert_eq!(c.bot.channels, vec!["chat".to_string()]);
    assert_eq!(c.bot.mode, Mode::Live);
    assert_eq!(c.timing.poll_interval, Duration::from_secs(5));
    assert_eq!(c.timing.sweep, "*/10 * * * * *");
    assert_eq!(c.timing.close_after, Duration::from_secs(15 * 60));
    assert_eq!(c.timing.email_wait, Duration::from_secs(5 * 60));
    assert_eq!(c.timing.answer_deadline, Duration::from_secs(2 * 60));
    assert_eq!(
        c.ledger.path,
        PathBuf::from("/var/lib/perfectbot/ledger.db")
    );
    assert_eq!(c.responder.kind, ResponderKind::Kb);
    assert_eq!(c.kb.dir, PathBuf::from("/etc/perfectbot/kb"));
    assert_eq!(c.kb.confidence, crate::calibration::DEFAULT_CONFIDENCE);
    assert!(matches!(c.kb.embedding, Embedding::Builtin));
    assert_eq!(c.kb.note_prefix, "#kb");
    assert!(c.openai.is_none());
    assert_eq!(c.handover.collect_email, CollectEmail::Always);
    assert!(
        c.handover
            .messages
            .default
            .after_hours
            .contains("{next_open}")
    );
    assert_eq!(c.handover.messages, HandoverMessages::builtin());
    assert_eq!(c.tags.agent_required, "PerfectBot: Agent Required");
    assert_eq!(c.tags.agent_check, "PerfectBot: Agent Check Recommended");
    assert_eq!(c.tags.auto_closed, "PerfectBot: Auto-closed");
    assert_eq!(c.business_hours.source, HoursSource::Gorgias);
    assert_eq!(c.business_hours.timezone, "UTC");
    assert!(c.business_hours.hours.is_none());
    assert_eq!(c.http.listen, None);
    assert_eq!(c.log.format, LogFormat::Auto);
    assert_eq!(c.log.filter, "info,tokio_cron_scheduler=warn");
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&c.gorgias.api_key),
        KEY
    );
}

#[test]
fn tags_follow_the_bot_name_unless_overridden() {
    let c = parse(&format!(
        "{MINIMAL}\n[bot]\nname = \"Ava\"\nopt_out_tags = [\"ai_ignore\"]\n[tags]\nhandled = \"done-by-bot\"\n"
    ))
    .unwrap();
    assert_eq!(c.tags.agent_required, "Ava: Agent Required");
    assert_eq!(c.tags.handled, "done-by-bot");
    assert_eq!(
        c.tags.opt_out(&c.bot.opt_out_tags),
        vec!["Ava: Not Involved".to_string(), "ai_ignore".to_string()]
    );
}

#[test]
fn several_problems_are_reported_together() {
    let text = format!(
        "{MINIMAL}
[timing]
close_after = \"15 minutes please\"
sweep = \"*/10 * * * *\"
colour = \"blue\"

[business_hours]
timezone = \"Europe/Parsi\"

[handover]
collect_email = \"sometimes\"
"
    );
    let errors = errors_of(&text);
    let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
    assert!(
        errors.contains(
            &"config.toml: timing.close_after: \"15 minutes please\" is not a duration (try \"15m\")"
                .to_string()
        ),
        "{errors:#?}"
    );
    assert!(
        has("config.toml: timing.sweep: \"*/10 * * * *\" has 5 fields; six are needed"),
        "{errors:#?}"
    );
    assert!(
        has("config.toml: timing.colour: unknown key"),
        "{errors:#?}"
    );
    assert!(
        has("config.toml: business_hours.timezone: \"Europe/Parsi\" is not a known time zone"),
        "{errors:#?}"
    );
    assert!(
        has(
            "config.toml: handover.collect_email: \"sometimes\" is not one of \"always\", \"when_offline\", \"never\""
        ),
        "{errors:#?}"
    );
    assert_eq!(errors.len(), 5, "{errors:#?}");
}

#[test]
fn unknown_keys_and_wrong_types_in_several_sections_are_all_reported() {
    let text = format!(
        "{MINIMAL}
requests_per_window = \"many\"
[bot]
nmae = \"Ava\"
[sectionx]
a = 1
"
    );
    let errors = errors_of(&text);
    let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
    assert!(
        has("config.toml: gorgias.requests_per_window: invalid type: string \"many\""),
        "{errors:#?}"
    );
    assert!(has("config.toml: bot.nmae: unknown key"), "{errors:#?}");
    assert!(has("config.toml: sectionx: unknown key"), "{errors:#?}");
}

#[test]
fn an_api_key_in_the_file_is_refused_without_echoing_it() {
    let text = format!("{MINIMAL}api_key = \"{KEY}\"\n");
    let errors = errors_of(&text);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("gorgias.api_key: unknown key")),
        "{errors:#?}"
    );
    assert!(errors.iter().all(|e| !e.contains(KEY)));
}

#[test]
fn syntax_errors_name_the_file_line_and_key() {
    let errors = errors_of(&format!("{MINIMAL}\n[timing]\nclose_after = 15 minutes\n"));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].starts_with("config.toml: line 7"), "{errors:#?}");
    assert!(errors[0].contains("timing.close_after"), "{errors:#?}");
}

#[test]
fn missing_file_is_one_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let errors = load_with_env(&path, &env_with_key).unwrap_err().0;
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with(&format!("{}: cannot read", path.display())),
        "{errors:?}"
    );
}

#[test]
fn load_resolves_relative_paths_against_the_config_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key.txt"), format!("  {KEY}\n")).unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        format!("{MINIMAL}api_key_file = \"key.txt\"\n[kb]\ndir = \"kb\"\n[ledger]\npath = \"state/l.db\"\n"),
    )
    .unwrap();
    let c = load_with_env(&path, &|_| None).unwrap();
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&c.gorgias.api_key),
        KEY
    );
    assert_eq!(c.kb.dir, dir.path().join("kb"));
    assert_eq!(c.ledger.path, dir.path().join("state/l.db"));
}

#[test]
fn unreadable_key_file_names_the_file_and_the_os_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing-key");
    let text = format!("{MINIMAL}api_key_file = \"{}\"\n", missing.display());
    let errors = parse_str("config.toml", &text, &|_| None).unwrap_err().0;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains(&missing.display().to_string()),
        "{errors:#?}"
    );
    assert!(errors[0].contains("No such file"), "{errors:#?}");
}

#[test]
fn missing_key_lists_the_three_places() {
    let errors = parse_str("config.toml", MINIMAL, &|_| None).unwrap_err().0;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    for place in [
        "CREDENTIALS_DIRECTORY",
        "gorgias.api_key_file",
        ENV_GORGIAS_API_KEY,
    ] {
        assert!(errors[0].contains(place), "{errors:#?}");
    }
}

#[test]
fn key_precedence_is_credentials_then_file_then_env() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("gorgias_api_key"), "from-creds\n").unwrap();
    std::fs::write(dir.path().join("key"), "from-file\n").unwrap();
    let text = format!(
        "{MINIMAL}api_key_file = \"{}\"\n",
        dir.path().join("key").display()
    );
    let creds_s = creds.display().to_string();
    let full_env = |name: &str| match name {
        "CREDENTIALS_DIRECTORY" => Some(creds_s.clone()),
        ENV_GORGIAS_API_KEY => Some("from-env".to_string()),
        _ => None,
    };
    let key = |c: &Config| secrecy::ExposeSecret::expose_secret(&c.gorgias.api_key).to_string();
    assert_eq!(
        key(&parse_str("config.toml", &text, &full_env).unwrap()),
        "from-creds"
    );
    let no_creds = |name: &str| (name == ENV_GORGIAS_API_KEY).then(|| "from-env".to_string());
    assert_eq!(
        key(&parse_str("config.toml", &text, &no_creds).unwrap()),
        "from-file"
    );
    assert_eq!(
        key(&parse_str("config.toml", MINIMAL, &no_creds).unwrap()),
        "from-env"
    );
    // A credentials directory without our file falls through to the next place.
    std::fs::remove_file(creds.join("gorgias_api_key")).unwrap();
    assert_eq!(
        key(&parse_str("config.toml", &text, &full_env).unwrap()),
        "from-file"
    );
}

#[test]
fn kb_embedding_and_confidence_keys_are_read_and_checked() {
    let c = parse(&format!(
        "{MINIMAL}\n[kb]\nconfidence = 0.6\nembedding = \"openai\"\nembedding_url = \"http://127.0.0.1:11434\"\nembedding_model = \"nomic-embed-text\"\nembedding_batch = 8\n"
    ))
    .unwrap();
    assert_eq!(c.kb.confidence, 0.6);
    match &c.kb.embedding {
        Embedding::OpenAi(o) => {
            assert_eq!(o.model, "nomic-embed-text");
            assert_eq!(o.batch, 8);
            assert_eq!(o.timeout, Duration::from_secs(10));
        }
        other => panic!("{other:?}"),
    }
    // The deprecated threshold still works, mapped to BM25's confidence.
    let c = parse(&format!(
        "{MINIMAL}\n[kb]\nmin_score = 1.0\nembedding = \"none\"\n"
    ))
    .unwrap();
    assert_eq!(c.kb.deprecated_min_score, Some(1.0));
    assert_eq!(c.kb.confidence, 0.374);
    assert!(matches!(c.kb.embedding, Embedding::None));
    let errs = errors_of(&format!(
        "{MINIMAL}\n[kb]\nconfidence = 1.5\nembedding = \"bert\"\n"
    ));
    assert!(errs.iter().any(|e| e.contains("kb.confidence")), "{errs:?}");
    assert!(errs.iter().any(|e| e.contains("kb.embedding")), "{errs:?}");
    let errs = errors_of(&format!("{MINIMAL}\n[kb]\nembedding = \"model2vec\"\n"));
    assert!(
        errs.iter().any(|e| e.contains("kb.model2vec_dir")),
        "{errs:?}"
    );
    let errs = errors_of(&format!("{MINIMAL}\n[kb]\nembedding = \"openai\"\n"));
    assert!(
        errs.iter().any(|e| e.contains("kb.embedding_url")),
        "{errs:?}"
    );
    assert!(
        errs.iter().any(|e| e.contains("kb.embedding_model")),
        "{errs:?}"
    );
}

#[test]
fn secret_never_appears_in_debug_or_summary() {
    let c = parse(MINIMAL).unwrap();
    assert!(!format!("{c:?}").contains(KEY));
    assert!(!c.summary().contains(KEY));
    let t = Config::for_tests("http://127.0.0.1:9/", "a@b.c", KEY);
    assert!(!format!("{t:?}").contains(KEY));
}

#[test]
fn state_directory_sets_the_default_ledger_path() {
    let env = |name: &str| match name {
        "STATE_DIRECTORY" => Some("/var/lib/private/perfectbot".to_string()),
        _ => env_with_key(name),
    };
    let c = parse_str("config.toml", MINIMAL, &env).unwrap();
    assert_eq!(
        c.ledger.path,
        PathBuf::from("/var/lib/private/perfectbot/ledger.db")
    );
    let given = parse_str(
        "config.toml",
        &format!("{MINIMAL}[ledger]\npath = \"/tmp/x.db\"\n"),
        &env,
    )
    .unwrap();
    assert_eq!(given.ledger.path, PathBuf::from("/tmp/x.db"));
}

#[test]
fn openai_responder_names_each_missing_key() {
    let errors = errors_of(&format!(
        "{MINIMAL}[responder]\nkind = \"openai\"\n[openai]\ntimeout = \"5s\"\n"
    ));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("openai.base_url: missing")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("openai.model: missing")),
        "{errors:#?}"
    );
    let errors = errors_of(&format!("{MINIMAL}[responder]\nkind = \"openai\"\n"));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("config.toml: openai: missing")),
        "{errors:#?}"
    );
}

#[test]
fn openai_hosted_needs_a_key_but_local_servers_do_not() {
    let hosted = format!(
        "{MINIMAL}[responder]\nkind = \"openai\"\n[openai]\nbase_url = \"https://api.openai.com/v1/\"\nmodel = \"gpt-4o-mini\"\n"
    );
    assert!(
        errors_of(&hosted)
            .iter()
            .any(|e| e.contains("openai.api_key: no API key"))
    );
    let env = |name: &str| match name {
        ENV_OPENAI_API_KEY => Some("sk-openai".to_string()),
        _ => env_with_key(name),
    };
    let c = parse_str("config.toml", &hosted, &env).unwrap();
    let o = c.openai.expect("openai config");
    assert_eq!(o.base_url, "https://api.openai.com/v1");
    assert_eq!(o.timeout, Duration::from_secs(20));
    assert!(o.api_key.is_some());
    let local = hosted.replace("https://api.openai.com/v1/", "http://127.0.0.1:11434/v1");
    assert!(parse(&local).unwrap().openai.unwrap().api_key.is_none());
}

#[test]
fn handover_checks_placeholders_and_single_assignee() {
    let errors = errors_of(&format!(
        "{MINIMAL}[handover]\nassign_team_id = 1\nassign_user_id = 2\n[handover.messages]\nonline = \"Hi {{name}}, {{email}}\"\n"
    ));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("handover.messages.online") && e.contains("{name}")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("handover.assign_team_id")),
        "{errors:#?}"
    );
    assert_eq!(errors.len(), 2, "{errors:#?}");
}

#[test]
fn built_in_messages_cover_the_intent_languages_with_the_same_placeholders() {
    let m = parse(MINIMAL).unwrap().handover.messages;
    let english = MessageTemplates::english();
    assert_eq!(m.default, english);
    for code in BUILTIN_LANGUAGES {
        let set = m.for_language(Some(code));
        assert_eq!(set, &MessageTemplates::builtin(code).unwrap(), "{code}");
        for (i, key) in MESSAGE_KEYS.iter().enumerate() {
            assert!(unknown_placeholders(set.get(i)).is_empty(), "{code}.{key}");
            for p in PLACEHOLDERS {
                let tag = format!("{{{p}}}");
                assert_eq!(
                    set.get(i).contains(&tag),
                    english.get(i).contains(&tag),
                    "{code}.{key}: {tag}"
                );
            }
            if code != "en" {
                assert_ne!(set.get(i), english.get(i), "{code} is not translated");
            }
        }
    }
    assert!(m.for_language(Some("pt_BR")).online.contains("equipe"));
    assert!(m.for_language(Some("DE-at")).online.contains("Geduld"));
    assert_eq!(m.for_language(Some("sv")), &english);
    assert_eq!(m.for_language(Some("fra")), &english);
    assert_eq!(m.for_language(None), &english);
}

#[test]
fn a_language_table_overrides_key_by_key() {
    let c = parse(&format!(
        "{MINIMAL}[handover.messages.FR]\nonline = \"Je vous passe à un collègue, {{customer_name}}.\"\n\
         [handover.messages.sv]\nonline = \"Hej {{customer_name}}\"\n"
    ))
    .unwrap();
    let m = &c.handover.messages;
    let fr = m.for_language(Some("fr-FR"));
    assert_eq!(fr.online, "Je vous passe à un collègue, {customer_name}.");
    // The keys the table leaves out keep the built-in French text.
    let builtin_fr = MessageTemplates::builtin("fr").unwrap();
    assert_eq!(fr.after_hours, builtin_fr.after_hours);
    assert_eq!(fr.email_request, builtin_fr.email_request);
    // A language with no built-in set falls back to the default for the rest.
    let sv = m.for_language(Some("sv"));
    assert_eq!(sv.online, "Hej {customer_name}");
    assert_eq!(sv.after_hours, MessageTemplates::english().after_hours);
    assert_eq!(m.default, MessageTemplates::english());
}

#[test]
fn courtesy_replies_are_overridable_like_the_handover_messages() {
    let c = parse(&format!(
        "{MINIMAL}[handover.messages]\nthanks = \"Glad to help, {{customer_name}}!\"\n\
         [handover.messages.de]\ngreeting = \"Moin! Was kann ich für Sie tun?\"\n"
    ))
    .unwrap();
    let m = &c.handover.messages;
    assert_eq!(m.default.thanks, "Glad to help, {customer_name}!");
    assert_eq!(m.default.greeting, MessageTemplates::english().greeting);
    let de = m.for_language(Some("de"));
    assert_eq!(de.greeting, "Moin! Was kann ich für Sie tun?");
    // The team's own default thanks reaches German tickets; the goodbye stays built in.
    assert_eq!(de.thanks, "Glad to help, {customer_name}!");
    assert_eq!(de.goodbye, MessageTemplates::builtin("de").unwrap().goodbye);
    let err = parse(&format!(
        "{MINIMAL}[handover.messages.fr]\nbye = \"Salut\"\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("handover.messages.fr.bye") && err.contains("goodbye"),
        "{err}"
    );
    let err = parse(&format!(
        "{MINIMAL}[handover.messages]\ngreeting = \"Hi {{name}}\"\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown placeholder"), "{err}");
}

#[test]
fn a_customised_default_is_not_replaced_by_built_in_translations() {
    let c = parse(&format!(
        "{MINIMAL}[handover.messages]\nonline = \"Sarah from Acme will be right with you.\"\n\
         after_hours = \"{}\"\n[handover.messages.fr]\nno_agents = \"Patience !\"\n",
        MessageTemplates::english().after_hours
    ))
    .unwrap();
    let m = &c.handover.messages;
    assert_eq!(m.default.online, "Sarah from Acme will be right with you.");
    // The team's own wording wins over the built-in German text...
    assert_eq!(
        m.for_language(Some("de")).online,
        "Sarah from Acme will be right with you."
    );
    // ...but a default written exactly as the built-in English one is not a customisation.
    assert_eq!(
        m.for_language(Some("de")).after_hours,
        MessageTemplates::builtin("de").unwrap().after_hours
    );
    // And a language table still wins over the customised default.
    let fr = m.for_language(Some("fr"));
    assert_eq!(fr.no_agents, "Patience !");
    assert_eq!(fr.online, "Sarah from Acme will be right with you.");
}

#[test]
fn notes_name_the_languages_a_customised_default_reaches_untranslated() {
    let c = parse(&format!(
        "{MINIMAL}[handover.messages]\nonline = \"Sarah will be right with you.\"\n\
         [handover.messages.fr]\nonline = \"Sarah arrive.\"\n"
    ))
    .unwrap();
    let notes = c.notes();
    assert!(
        notes.iter().any(
            |n| n.starts_with("handover.messages.online is your own text")
                && n.contains("tickets in de, es, it, nl, pt get it")
        ),
        "{notes:#?}"
    );
    assert!(parse(MINIMAL).unwrap().notes().is_empty());
    assert!(
        c.summary()
            .contains("per language: de, en, es, fr, it, nl, pt")
    );
}

#[test]
fn bad_language_tables_are_reported_with_the_other_errors() {
    let errors = errors_of(&format!(
        "{MINIMAL}[timing]\nclose_after = \"soon\"\n\
         [handover.messages]\ncolour = \"blue\"\nonline = 3\n\
         [handover.messages.fr-FR]\nonline = \"x\"\n\
         [handover.messages.xx]\nonline = \"x\"\n\
         [handover.messages.de]\nonlin = \"x\"\nafter_hours = \"Zurück {{naechste}}\"\n\
         [handover.messages.es]\nemail_request = 7\n\
         [handover.messages.NL]\nonline = \"a\"\n[handover.messages.nl]\nonline = \"b\"\n"
    ));
    let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
    assert!(
        has("config.toml: timing.close_after: \"soon\""),
        "{errors:#?}"
    );
    assert!(
        has("config.toml: handover.messages.colour: unknown key"),
        "{errors:#?}"
    );
    assert!(
        has("config.toml: handover.messages.online: invalid type: integer `3`, expected a string"),
        "{errors:#?}"
    );
    assert!(
        has("config.toml: handover.messages.fr-FR: \"fr-FR\" is not a language")
            && has("use the [handover.messages.fr] table"),
        "{errors:#?}"
    );
    assert!(
        has("config.toml: handover.messages.xx: \"xx\" is not a language"),
        "{errors:#?}"
    );
    assert!(
        has("config.toml: handover.messages.de.onlin: unknown key"),
        "{errors:#?}"
    );
    assert!(
        has(
            "config.toml: handover.messages.de.after_hours: \"Zurück {naechste}\" uses unknown placeholder(s) {naechste}"
        ),
        "{errors:#?}"
    );
    assert!(
        has("config.toml: handover.messages.es.email_request: invalid type: integer `7`"),
        "{errors:#?}"
    );
    assert!(
        has("handover.messages.nl: is the same language as handover.messages.NL"),
        "{errors:#?}"
    );
    assert_eq!(errors.len(), 9, "{errors:#?}");
}

#[test]
fn config_business_hours_build_ready_hours() {
    let c = parse(&format!(
        r#"{MINIMAL}
[business_hours]
source = "config"
timezone = "Europe/Paris"
holidays = ["2025-12-25", 2026-01-01]

[[business_hours.ranges]]
days = "mon-fri"
from = "09:00"
to = "18:00"

[[business_hours.ranges]]
days = "sat"
from = "22:00"
to = "02:00"
"#
    ))
    .unwrap();
    let bh = &c.business_hours;
    assert_eq!(bh.ranges.len(), 2);
    assert_eq!(
        bh.holidays,
        vec![
            jiff::civil::date(2025, 12, 25),
            jiff::civil::date(2026, 1, 1)
        ]
    );
    let hours = bh.hours.as_ref().expect("config hours");
    assert_eq!(hours.timezone_name(), "Europe/Paris");
    assert!(hours.is_open("2025-01-15T10:00:00Z".parse().unwrap()));
    assert!(!hours.is_open("2025-12-25T10:00:00Z".parse().unwrap()));
}

#[test]
fn bad_ranges_and_holidays_name_the_range() {
    let errors = errors_of(&format!(
        r#"{MINIMAL}
[business_hours]
source = "config"
holidays = ["25/12/2025"]
[[business_hours.ranges]]
days = "mon-fri"
from = "09:00"
to = "18:00"
[[business_hours.ranges]]
days = "funday"
from = "9am"
"#
    ));
    let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
    assert!(
        has("business_hours.holidays: \"25/12/2025\" is not a date"),
        "{errors:#?}"
    );
    assert!(
        has("business_hours.ranges[2].days: \"funday\" is not a day"),
        "{errors:#?}"
    );
    assert!(
        has("business_hours.ranges[2].from: \"9am\" is not a time"),
        "{errors:#?}"
    );
    assert!(has("business_hours.ranges[2].to: missing"), "{errors:#?}");
}

#[test]
fn ranges_with_gorgias_source_are_refused() {
    let errors = errors_of(&format!(
        "{MINIMAL}[[business_hours.ranges]]\ndays = \"1-5\"\nfrom = \"09:00\"\nto = \"17:00\"\n"
    ));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("business_hours.ranges: are set")),
        "{errors:#?}"
    );
}

#[test]
fn durations_beyond_their_maximum_are_refused_naming_file_key_and_value() {
    let errors = errors_of(&format!(
        "{MINIMAL}[timing]\nclose_after = \"8000y\"\nemail_wait = \"9000y\"\n\
         answer_deadline = \"2days\"\npoll_interval = \"1ns\"\n\
         [openai]\ntimeout = \"99999999999999999999y\"\n"
    ));
    let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
    assert!(
        has("config.toml: timing.close_after: \"8000y\" is more than the maximum of \"30days\""),
        "{errors:#?}"
    );
    assert!(
        has("config.toml: timing.email_wait: \"9000y\" is more than the maximum"),
        "{errors:#?}"
    );
    assert!(has(
        "timing.answer_deadline: \"2days\" is more than the maximum of \"1day\""
    ));
    assert!(has(
        "timing.poll_interval: \"1ns\" is less than the minimum of \"100ms\""
    ));
    assert!(has(
        "openai.timeout: \"99999999999999999999y\" is not a duration"
    ));
    // The largest accepted values load.
    let c = parse(&format!(
        "{MINIMAL}window = \"1h\"\ntimeout = \"10m\"\nconnect_timeout = \"10m\"\n\
         requests_per_window = 100000\n\
         [timing]\nclose_after = \"30d\"\nemail_wait = \"7d\"\nanswer_deadline = \"1d\"\n\
         poll_interval = \"1h\"\n"
    ))
    .unwrap();
    assert_eq!(c.timing.close_after, Duration::from_secs(30 * 86_400));
    let errors = errors_of(&format!("{MINIMAL}requests_per_window = 4000000000\n"));
    assert!(
        errors[0].contains("gorgias.requests_per_window: 4000000000 is more than the maximum"),
        "{errors:#?}"
    );
}

#[test]
fn plain_http_to_another_machine_is_refused_unless_allowed_then_warned() {
    let url = |u: &str| format!("[gorgias]\nbase_url = \"{u}\"\nemail = \"bot@x.org\"\n");
    let errors = errors_of(&url("http://store.example.com"));
    assert!(
        errors[0].contains("gorgias.base_url: \"http://store.example.com\" is plain http://")
            && errors[0].contains("allow_insecure_http"),
        "{errors:#?}"
    );
    let c = parse(&format!(
        "{}allow_insecure_http = true\n",
        url("http://store.example.com")
    ))
    .unwrap();
    assert!(c.gorgias.allow_insecure_http);
    assert!(
        c.notes()
            .iter()
            .any(|n| n.contains("plain http://") && n.contains("in clear")),
        "{:?}",
        c.notes()
    );
    for local in [
        "http://127.0.0.1:8089",
        "http://localhost:8089",
        "http://[::1]:80",
    ] {
        let c = parse(&url(local)).unwrap();
        assert!(
            !c.notes().iter().any(|n| n.contains("plain http")),
            "{local}"
        );
    }
    assert!(parse(&url("https://store.example.com")).is_ok());
}

#[test]
fn credentials_in_a_base_url_are_refused_and_never_echoed() {
    for url in [
        "https://user:hunter2pass@store.example.com",
        "https://hunter2pass@store.example.com/",
        "https://user:hunter2pass@exa mple.com",
    ] {
        let errors = errors_of(&format!(
            "[gorgias]\nbase_url = \"{url}\"\nemail = \"bot@x.org\"\n\
             [responder]\nkind = \"openai\"\n[openai]\nmodel = \"m\"\nbase_url = \"{url}\"\n"
        ));
        let all = errors.join("\n");
        assert!(!all.contains("hunter2pass"), "{all}");
        assert!(all.contains("gorgias.base_url:"), "{all}");
        assert!(all.contains("openai.base_url:"), "{all}");
    }
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_warned_about() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "k-123\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let text = format!("{MINIMAL}api_key_file = \"{}\"\n", key.display());
    let c = parse_str("config.toml", &text, &|_| None).unwrap();
    let notes = c.notes();
    assert!(
        notes.iter().any(|n| n.contains("gorgias.api_key")
            && n.contains(&key.display().to_string())
            && n.contains("0644")),
        "{notes:?}"
    );
    assert!(!notes.iter().any(|n| n.contains("k-123")));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let c = parse_str("config.toml", &text, &|_| None).unwrap();
    assert!(!c.notes().iter().any(|n| n.contains("other users")));
}

#[test]
fn urls_emails_listen_and_log_are_checked() {
    let errors = errors_of(
        r#"
[gorgias]
base_url = "your-store.gorgias.com"
email = "bot"
window = "0s"
[http]
listen = "localhost"
[log]
format = "xml"
filter = "info,=[["
"#,
    );
    let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
    assert!(
        has("gorgias.base_url: \"your-store.gorgias.com\""),
        "{errors:#?}"
    );
    assert!(
        has("gorgias.email: \"bot\" is not an email address"),
        "{errors:#?}"
    );
    assert!(
        has("gorgias.window: \"0s\" must be more than zero"),
        "{errors:#?}"
    );
    assert!(
        has("http.listen: \"localhost\" is not a socket address"),
        "{errors:#?}"
    );
    assert!(has("log.format: \"xml\" is not one of"), "{errors:#?}");
    assert!(has("log.filter:"), "{errors:#?}");
    let api = errors_of(&MINIMAL.replace(".com/\"", ".com/api\""));
    assert!(api[0].contains("must not end in /api"), "{api:#?}");
}

#[test]
fn gorgias_body_cap_and_stall_timeout_parse_and_are_checked() {
    let c = Config::for_tests("https://x.gorgias.com", "bot@x.com", "k");
    assert_eq!(c.gorgias.max_body, DEFAULT_GORGIAS_MAX_BODY);
    assert_eq!(c.gorgias.stall_timeout, Duration::from_secs(10));
    let with = |extra: &str| {
        parse(&format!(
            "[gorgias]\nbase_url = \"https://x.gorgias.com\"\nemail = \"b@x.com\"\n{extra}\n"
        ))
    };
    let c = with("max_body = \"5MiB\"\nstall_timeout = \"3s\"").unwrap();
    assert_eq!(c.gorgias.max_body, 5 << 20);
    assert_eq!(c.gorgias.stall_timeout, Duration::from_secs(3));
    assert_eq!(with("max_body = 100000").unwrap().gorgias.max_body, 100_000);
    for (bad, why) in [
        ("max_body = \"20 parsecs\"", "is not a size"),
        ("max_body = \"1e20\"", "is not a size"),
        ("max_body = \"99999999999999999999GB\"", "is not a size"),
        ("max_body = 10", "out of range"),
        ("max_body = \"2GiB\"", "out of range"),
        ("stall_timeout = \"0s\"", "must be more than zero"),
    ] {
        let errors = with(bad).expect_err(bad).0;
        assert!(errors.iter().any(|e| e.contains(why)), "{bad}: {errors:#?}");
    }
    assert_eq!(parse_size("20MB"), Some(20_000_000));
    assert_eq!(parse_size(" 1 gib "), Some(1 << 30));
    assert_eq!(parse_size("MB"), None);
    assert_eq!(parse_size("-5"), None);
}

#[test]
fn bearer_token_needs_no_email() {
    let c = parse("[gorgias]\nbase_url = \"https://x.gorgias.com\"\nbearer = true\n").unwrap();
    assert!(c.gorgias.bearer);
    assert_eq!(c.gorgias.email, "");
    let errors = errors_of("[gorgias]\nbase_url = \"https://x.gorgias.com\"\n");
    assert!(errors[0].contains("gorgias.email: missing"), "{errors:#?}");
}

#[test]
fn cron_accepts_six_fields_and_rejects_garbage() {
    assert!(check_cron("*/10 * * * * *").is_ok());
    assert!(check_cron("0 0 9 * * Mon-Fri").is_ok());
    assert!(
        check_cron("*/10 * * * *")
            .unwrap_err()
            .contains("six are needed")
    );
    assert!(check_cron("every ten seconds please").is_err());
    assert!(check_cron("61 * * * * *").is_err());
    assert!(check_cron("0 0 9 * * 1-5").unwrap_err().contains("MON-FRI"));
    assert!(check_cron("0 0 9 * * */2").is_ok());
}

#[test]
fn templates_fill_known_placeholders() {
    let english = MessageTemplates::english();
    let filled = fill_template(&english.after_hours, &[("next_open", "Monday 09:00 CET")]);
    assert_eq!(
        filled,
        "Our team is offline right now. We open again Monday 09:00 CET and will get back to you then."
    );
    assert!(unknown_placeholders(&english.after_hours).is_empty());
}

#[test]
fn summary_names_the_essentials() {
    let c = Config::for_tests("https://x.gorgias.com", "bot@x.com", "k");
    let s = c.summary();
    for needle in [
        "https://x.gorgias.com/api",
        "bot@x.com",
        "PerfectBot",
        "live",
        "ledger",
        "15m",
        "no listener",
    ] {
        assert!(s.contains(needle), "{needle} missing from:\n{s}");
    }
}

#[test]
fn errors_display_one_per_line() {
    let e = ConfigErrors(vec!["a: b: c".into(), "d: e: f".into()]);
    assert_eq!(e.to_string(), "a: b: c\nd: e: f");
}

#[test]
fn example_file_with_every_key_uncommented_keeps_the_defaults() {
    // Uncomment every `# key = value` and `# [section]` line: the documented defaults must
    // be the real ones, and every documented key must exist.
    let mut text = String::new();
    for line in include_str!("../../config.toml.example").lines() {
        let body = line.strip_prefix("# ").unwrap_or("");
        let is_key = body.split_once(" = ").is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        });
        let is_section = body.starts_with('[') && body.ends_with(']');
        text.push_str(if is_key || is_section { body } else { line });
        text.push('\n');
    }
    // The two examples that are deliberately not defaults and conflict with others.
    let text = text
        .replace("assign_user_id = 5678\n", "")
        .replace("source = \"gorgias\"", "source = \"config\"");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("gorgias_api_key"), "from-creds").unwrap();
    std::fs::write(dir.path().join("webhook_secret"), "hook").unwrap();
    let creds = dir.path().display().to_string();
    let env = |name: &str| (name == "CREDENTIALS_DIRECTORY").then(|| creds.clone());
    let c = parse_str("config.toml.example", &text, &env)
        .unwrap_or_else(|e| panic!("uncommented example does not parse:\n{e}\n{text}"));
    let d = parse(MINIMAL).unwrap();
    assert_eq!(c.tags, d.tags);
    assert_eq!(c.handover.messages, d.handover.messages);
    assert_eq!(format!("{:?}", c.orders), format!("{:?}", d.orders));
    assert_eq!(c.orders.messages, crate::orders::OrderMessages::builtin());
    assert_eq!(c.handover.collect_email, d.handover.collect_email);
    assert_eq!(format!("{:?}", c.timing), format!("{:?}", d.timing));
    assert_eq!(format!("{:?}", c.kb), format!("{:?}", d.kb));
    assert_eq!(format!("{:?}", c.log), format!("{:?}", d.log));
    assert_eq!(c.ledger.path, d.ledger.path);
    assert_eq!(c.bot.name, d.bot.name);
    assert_eq!(c.bot.channels, d.bot.channels);
    assert_eq!(c.bot.mode, d.bot.mode);
    assert_eq!(c.gorgias.requests_per_window, d.gorgias.requests_per_window);
    assert_eq!(
        (
            c.gorgias.window,
            c.gorgias.timeout,
            c.gorgias.connect_timeout
        ),
        (
            d.gorgias.window,
            d.gorgias.timeout,
            d.gorgias.connect_timeout
        )
    );
    assert_eq!(c.business_hours.ranges.len(), 2);
    assert_eq!(c.business_hours.holidays.len(), 2);
    assert!(c.http.webhook_secret.is_some());
    assert_eq!(c.http.listen, Some("127.0.0.1:9184".parse().unwrap()));
}

#[test]
fn example_openai_section_documents_the_real_defaults() {
    let example = include_str!("../../config.toml.example");
    let section: String = example
        .lines()
        .skip_while(|l| *l != "# [openai]")
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| {
            l.split_once(" = ")
                .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        })
        .filter(|l| !l.starts_with("api_key_file"))
        // A local server: no key needed.
        .map(|l| l.replace("https://api.openai.com/v1", "http://127.0.0.1:8089"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(section.contains("max_answer_chars"), "{section}");
    let text = format!("{MINIMAL}\n[responder]\nkind = \"openai\"\n[openai]\n{section}");
    let c = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let got = c.openai.expect("an [openai] section");
    let mut want = OpenAiConfig::new(got.base_url.clone(), got.model.clone());
    want.api_key = got.api_key.clone();
    assert_eq!(format!("{got:?}"), format!("{want:?}"));
    let bad = format!(
        "{MINIMAL}\n[responder]\nkind = \"openai\"\n[openai]\nbase_url = \"http://127.0.0.1:1\"\nmodel = \"m\"\nconcurrency = 0\nmax_body_bytes = 10\ntemperature = 3.0\nresponse_format = \"xml\"\n"
    );
    let errors = errors_of(&bad);
    for key in [
        "openai.concurrency: 0 must be at least 1",
        "openai.max_body_bytes: 10 must be at least 1024",
        "openai.temperature: 3 must be between 0 and 2",
        "openai.response_format: \"xml\" is not one of",
    ] {
        assert!(errors.iter().any(|e| e.contains(key)), "{key}: {errors:?}");
    }
}

#[test]
fn example_file_parses() {
    let text = include_str!("../../config.toml.example");
    let c = parse_str("config.toml.example", text, &env_with_key)
        .unwrap_or_else(|e| panic!("config.toml.example does not parse:\n{e}"));
    assert_eq!(c.gorgias.base_url, "https://your-store.gorgias.com");
    assert_eq!(c.gorgias.email, "bot@your-store.com");
}

#[test]
fn orders_keys_parse_with_their_defaults_and_overrides() {
    let c = parse(MINIMAL).unwrap();
    assert!(!c.orders.enabled);
    assert_eq!(c.orders.recent_window, Duration::from_secs(60 * 86400));
    assert_eq!(c.orders.late_after, Duration::from_secs(5 * 86400));
    assert_eq!(c.orders.number_wait, Duration::from_secs(600));
    assert_eq!(c.orders.messages, crate::orders::OrderMessages::builtin());

    let text = format!(
        "{MINIMAL}\n[orders]\nenabled = true\nrecent_window = \"30d\"\nlate_after = \"3d\"\n\
         number_wait = \"2m\"\n[orders.messages]\nask_number = \"Order number, {{customer_name}}?\"\n\
         [orders.messages.FR]\nnot_found = \"Pas de {{number}} ici.\"\n"
    );
    let c = parse(&text).unwrap();
    assert!(c.orders.enabled);
    assert_eq!(c.orders.recent_window, Duration::from_secs(30 * 86400));
    assert_eq!(c.orders.number_wait, Duration::from_secs(120));
    let m = &c.orders.messages;
    assert_eq!(m.default.ask_number, "Order number, {customer_name}?");
    // The team's own default reaches every language (never swapped for a translation)...
    assert_eq!(
        m.for_language(Some("de")).ask_number,
        "Order number, {customer_name}?"
    );
    // ...a language table wins for its keys, and the rest stays built-in.
    assert_eq!(
        m.for_language(Some("fr-FR")).not_found,
        "Pas de {number} ici."
    );
    let builtin_fr = crate::orders::OrderTemplates::builtin("fr").unwrap();
    assert_eq!(m.for_language(Some("fr")).shipped, builtin_fr.shipped);
}

#[test]
fn bad_orders_keys_are_named() {
    let errs = errors_of(&format!(
        "{MINIMAL}\n[orders]\nrecent_window = \"two months\"\n[orders.messages]\n\
         shipped = \"On its way: {{tracking_link}}\"\nsent = \"x\"\nnot_found = 3\n\
         [orders.messages.xx]\nshipped = \"x\"\n[orders.messages.de]\nwhere = \"x\"\n"
    ));
    let all = errs.join("\n");
    for expected in [
        "orders.recent_window: \"two months\" is not a duration",
        "orders.messages.shipped: \"On its way: {tracking_link}\" uses unknown placeholder(s) {tracking_link}",
        "orders.messages.sent: unknown key",
        "orders.messages.not_found: expected a string",
        "orders.messages.xx: unknown key",
        "orders.messages.de.where: unknown key",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
}

#[test]
fn offline_loading_reads_no_gorgias_secret_and_invents_none() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    for name in ["gorgias_api_key", "webhook_secret", "openai_api_key"] {
        std::fs::write(creds.join(name), format!("{name}-value\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(creds.join(name), std::fs::Permissions::from_mode(0o600))
                .unwrap();
        }
    }
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        format!(
            "{MINIMAL}api_key_file = \"/nonexistent/key\"\n[http]\nlisten = \"127.0.0.1:9184\"\n\
             [responder]\nkind = \"openai\"\n[openai]\nbase_url = \"https://api.openai.com/v1\"\n\
             model = \"gpt-4o-mini\"\n"
        ),
    )
    .unwrap();
    let creds_dir = creds.display().to_string();
    let env = move |name: &str| (name == "CREDENTIALS_DIRECTORY").then(|| creds_dir.clone());

    // The daemon's loading reads every secret.
    let c = load_with(&path, &env, Secrets::Required).unwrap();
    let exposed = |s: &secrecy::SecretString| secrecy::ExposeSecret::expose_secret(s).to_string();
    assert_eq!(exposed(&c.gorgias.api_key), "gorgias_api_key-value");
    assert!(c.http.webhook_secret.is_some());

    // Offline: the Gorgias key and the webhook secret are not read, even where they are; the
    // responder's key still is.
    let c = load_with(&path, &env, Secrets::Optional).unwrap();
    assert_eq!(exposed(&c.gorgias.api_key), "");
    assert!(c.http.webhook_secret.is_none());
    let openai = c.openai.as_ref().unwrap();
    assert_eq!(
        openai.api_key.as_ref().map(exposed).as_deref(),
        Some("openai_api_key-value")
    );
    assert!(c.notes().iter().all(|n| !n.contains("openai.api_key")));

    // Offline with no credentials anywhere: not an error (the Required load names both keys),
    // and the missing responder key is a note.
    let none = |_: &str| None;
    let errors = load_with(&path, &none, Secrets::Required).unwrap_err().0;
    assert!(
        errors
            .iter()
            .any(|e| e.contains("gorgias.api_key: cannot read the file /nonexistent/key")),
        "{errors:#?}"
    );
    let c = load_with(&path, &none, Secrets::Optional).unwrap();
    assert!(c.openai.as_ref().unwrap().api_key.is_none());
    assert!(
        c.notes()
            .iter()
            .any(|n| n.contains("openai.api_key: none found for api.openai.com")),
        "{:?}",
        c.notes()
    );

    // A responder key file that cannot be read is a note offline, an error for the daemon.
    std::fs::write(
        &path,
        format!(
            "{MINIMAL}[responder]\nkind = \"openai\"\n[openai]\nbase_url = \"http://127.0.0.1:9\"\n\
             model = \"m\"\napi_key_file = \"missing-key\"\n"
        ),
    )
    .unwrap();
    let errors = load_with(&path, &none, Secrets::Required).unwrap_err().0;
    assert!(
        errors
            .iter()
            .any(|e| e.contains("openai.api_key: cannot read the file")),
        "{errors:#?}"
    );
    let c = load_with(&path, &none, Secrets::Optional).unwrap();
    assert!(c.openai.as_ref().unwrap().api_key.is_none());
    assert!(
        c.notes()
            .iter()
            .any(|n| n.starts_with("openai.api_key: cannot read the file")
                && n.ends_with("going without it")),
        "{:?}",
        c.notes()
    );
}

#[test]
fn unknown_keys_name_the_keys_their_table_knows_and_wrong_types_are_all_reported() {
    let text = format!(
        "{MINIMAL}window = 20\ntimeout = true\n[ledger]\npth = \"x\"\n[log]\nformt = \"json\"\n\
         [business_hours]\nsource = \"config\"\n[[business_hours.ranges]]\ndays = \"mon-fri\"\n\
         from = \"09:00\"\nto = \"17:00\"\ndayz = \"sat\"\n"
    );
    let errors = errors_of(&text);
    let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
    assert!(
        has("config.toml: gorgias.window: invalid type: integer `20`, expected a string"),
        "{errors:#?}"
    );
    assert!(
        has("config.toml: gorgias.timeout: invalid type: boolean `true`, expected a string"),
        "{errors:#?}"
    );
    assert!(
        has("config.toml: ledger.pth: unknown key (expected `path`)"),
        "{errors:#?}"
    );
    assert!(
        has("config.toml: log.formt: unknown key (expected `format` or `filter`)"),
        "{errors:#?}"
    );
    assert!(
        has(
            "config.toml: business_hours.ranges[1].dayz: unknown key (expected one of `days`, `from`, `to`)"
        ),
        "{errors:#?}"
    );
    assert_eq!(errors.len(), 5, "{errors:#?}");
}

#[test]
fn every_wrong_type_in_a_file_is_named_in_one_run_whatever_the_table() {
    let text = format!(
        "ledger = \"x\"\n{MINIMAL}requests_per_window = \"many\"\n\
         [bot]\nchannels = [\"chat\", 3]\n[kb]\nconfidence = \"high\"\n\
         [business_hours]\nranges = [{{ days = 1, from = \"09:00\", to = \"17:00\" }}, 2]\n"
    );
    let errors = errors_of(&text);
    let wrong_types: Vec<&str> = errors
        .iter()
        .map(String::as_str)
        .filter(|e| e.contains("invalid type"))
        .collect();
    assert_eq!(
        wrong_types,
        [
            "config.toml: gorgias.requests_per_window: invalid type: string \"many\", expected a whole number",
            "config.toml: bot.channels: invalid type: integer `3`, expected a string",
            "config.toml: ledger: invalid type: string \"x\", expected a table",
            "config.toml: kb.confidence: invalid type: string \"high\", expected a number",
            "config.toml: business_hours.ranges[1].days: invalid type: integer `1`, expected a string",
            "config.toml: business_hours.ranges[2]: invalid type: integer `2`, expected a table",
        ],
        "{errors:#?}"
    );
    // A wrong-typed value reads as absent, so the checks that follow see what they would
    // without it, and a list element keeps its place: the second range is still the second.
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("config.toml: business_hours.ranges[2].from: missing")),
        "{errors:#?}"
    );
}
