//! Bad input never panics: the config loader, the API decoding of arbitrary JSON, the view
//! filter language, email extraction and business-hours parsing answer with a clear error (or a
//! value), whatever they are fed.

use perfectbot::gorgias::decode::{parse_business_hours, parse_page};
use perfectbot::gorgias::{Message, Ticket, User};
use proptest::prelude::*;
use serde_json::Value;

/// Arbitrary JSON, biased toward the shapes the API uses.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z0-9:+.T -]{0,30}".prop_map(Value::String),
        Just(Value::String("2024-02-14T21:31:12.367230+00:00".into())),
        Just(Value::String("2021-01-07T13:00:00.123456".into())),
    ];
    let keys = prop_oneof![
        Just("id".to_string()),
        Just("status".to_string()),
        Just("messages".to_string()),
        Just("tags".to_string()),
        Just("data".to_string()),
        Just("meta".to_string()),
        Just("next_cursor".to_string()),
        Just("created_datetime".to_string()),
        Just("assignee_user".to_string()),
        Just("business_hours".to_string()),
        "[a-z_]{1,12}",
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn api_decoding_of_arbitrary_json_never_panics(v in json()) {
        let _ = serde_json::from_value::<Ticket>(v.clone());
        let _ = serde_json::from_value::<Message>(v.clone());
        let _ = serde_json::from_value::<User>(v.clone());
        let bytes = serde_json::to_vec(&v).unwrap();
        let _ = parse_page::<Ticket>(&bytes);
        let _ = parse_business_hours(v);
    }

    #[test]
    fn api_decoding_of_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_page::<Ticket>(&bytes);
        let _ = serde_json::from_slice::<Ticket>(&bytes);
    }

    #[test]
    fn config_loader_never_panics_and_names_the_file(text in r#"(\[[a-z_.]{1,12}\]\n|[a-z_]{1,14} = ("[^"\n]{0,12}"|[0-9]{1,4}|true|\[\])\n|[^\n]{0,20}\n){0,12}"#) {
        match perfectbot::config::parse_str("fuzz.toml", &text, &|_| Some("key".to_string())) {
            Ok(_) => {}
            Err(e) => {
                prop_assert!(!e.0.is_empty());
                for line in &e.0 {
                    prop_assert!(line.starts_with("fuzz.toml"), "{line}");
                }
            }
        }
    }

    #[test]
    fn filter_language_never_panics(src in r"[a-zA-Z_.(),' &|!{}0-9\[\]-]{0,60}", v in json()) {
        if let Ok(expr) = perfectbot_sim::filter::parse(&src) {
            let _ = perfectbot_sim::filter::eval(&expr, &v, &perfectbot_sim::filter::EvalCtx { current_user_id: 7 });
        }
    }

    #[test]
    fn filter_errors_say_where(src in r"(eq|neq|containsAny|isEmpty)\((ticket\.[a-z_.]{0,12})?(, ?('[a-z]{0,5}'|[0-9]{1,3}|\[))?\)?( (&&|\|\|) )?") {
        if let Err(e) = perfectbot_sim::filter::parse(&src) {
            prop_assert!(!e.to_string().is_empty() && e.pos <= src.len(), "{e} at {} in {src:?}", e.pos);
        }
    }

    #[test]
    fn email_extraction_never_panics(text in ".{0,120}") {
        if let Some(e) = perfectbot::responder::email::extract_email(&text) {
            prop_assert!(perfectbot::responder::email::is_valid_email(&e), "{e}");
        }
    }

    #[test]
    fn business_hours_parsing_never_panics(days in ".{0,20}", from in ".{0,8}", to in ".{0,8}", tz in "[A-Za-z/_+-]{0,20}") {
        let _ = perfectbot::hours::parse_days(&days);
        let _ = perfectbot::hours::parse_hhmm(&from);
        let setting = serde_json::json!({"timezone": tz, "business_hours": [{"days": days, "from_time": from, "to_time": to}]});
        let parsed = parse_business_hours(serde_json::json!([{"type": "business-hours", "data": setting}]));
        if let Ok(Some(s)) = parsed
            && let Ok(h) = perfectbot::hours::BusinessHours::from_gorgias(&s, vec![])
        {
            let now = jiff::Timestamp::now();
            let _ = h.is_open(now);
            let _ = h.describe_next_open(now);
        }
    }
}
