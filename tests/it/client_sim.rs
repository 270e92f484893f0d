//! The client against the simulator: page after page under the default rate limit, no 429.

use crate::common::*;
use perfectbot::gorgias::{Auth, Client, ClientConfig, GorgiasError};
use perfectbot_sim::{NewTicket, SimOptions};
use secrecy::SecretString;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_pages_through_the_simulator_without_a_single_429() {
    let (sim, server, seeded) = start_sim(SimOptions::default()).await; // 40 per 20 s
    for i in 0..230 {
        let c = sim.create_customer(&format!("c{i}"), None);
        sim.create_ticket(NewTicket {
            channel: if i % 3 == 0 { "email" } else { "chat" }.into(),
            customer_id: c,
            first_message: format!("question {i}"),
            assignee_user: if i % 5 == 0 {
                None
            } else {
                Some(seeded.bot.id)
            },
            ..NewTicket::default()
        });
    }
    let client = Client::new(ClientConfig::new(
        server.base_url(),
        Auth::Basic {
            email: seeded.bot.email.clone(),
            api_key: SecretString::from(seeded.bot.api_key.clone()),
        },
    ))
    .unwrap();
    let me = client.current_user().await.unwrap();
    assert_eq!(me.id, seeded.bot.id);
    let filter = "eq(ticket.status, 'open') && eq(ticket.channel, 'chat') && eq(ticket.assignee_user.id, '{{current_user.id}}')";
    let listed = client
        .ad_hoc_view_items(filter, "updated_datetime")
        .await
        .unwrap();
    let expected = (0..230).filter(|i| i % 3 != 0 && i % 5 != 0).count();
    assert_eq!(listed.len(), expected, "every page read");
    let mut ids: Vec<u64> = listed.iter().map(|t| t.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), expected, "no ticket twice");
    // More full reads than the bucket holds: the pacer must spread them.
    for id in ids.iter().take(50) {
        let t = client.ticket(*id).await.unwrap();
        assert_eq!(t.messages.len(), 1);
    }
    let stats = sim.stats();
    assert_eq!(
        stats.rate_limited, 0,
        "the client never went over the limit: {stats:?}"
    );
    assert!(stats.requests >= 53);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_key_is_unauthorized() {
    let (_sim, server, seeded) = start_sim(SimOptions::default()).await;
    let client = Client::new(ClientConfig::new(
        server.base_url(),
        Auth::Basic {
            email: seeded.bot.email.clone(),
            api_key: SecretString::from("not-the-key".to_string()),
        },
    ))
    .unwrap();
    let err = client.current_user().await.unwrap_err();
    assert!(matches!(err, GorgiasError::Unauthorized { .. }), "{err}");
    assert!(!err.to_string().contains("not-the-key"));
}

#[tokio::test]
async fn macros_are_listed_page_by_page_in_the_api_shape() {
    let (sim, server, seeded) = start_sim(relaxed_sim()).await;
    let mut ids = Vec::new();
    for i in 0..250 {
        ids.push(sim.create_macro(perfectbot_sim::NewMacro {
            name: format!("Macro {i}"),
            language: (i % 2 == 0).then(|| "fr".to_owned()),
            text: format!("Answer {i}"),
            ..perfectbot_sim::NewMacro::default()
        }));
    }
    sim.archive_macro(ids[3]);
    sim.delete_macro(ids[4]);
    let client = Client::new(ClientConfig::new(
        server.base_url(),
        Auth::Basic {
            email: seeded.bot.email.clone(),
            api_key: SecretString::from(seeded.bot.api_key.clone()),
        },
    ))
    .unwrap();
    let before = sim.requests().len();
    let macros = client.macros().await.unwrap();
    let pages: Vec<_> = sim.requests()[before..]
        .iter()
        .filter(|r| r.pattern == "/api/macros")
        .cloned()
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(
        pages
            .iter()
            .all(|r| r.status == 200 && r.query.contains("limit=100"))
    );
    assert_eq!(macros.len(), 249);
    let archived = macros.iter().find(|m| m.id == ids[3]).unwrap();
    assert!(archived.archived_datetime.is_some());
    let m = macros.iter().find(|m| m.id == ids[0]).unwrap();
    assert_eq!(m.language.as_deref(), Some("fr"));
    assert_eq!(m.actions[0].name, "setResponseText");
    assert_eq!(m.actions[0].arguments["body_text"], "Answer 0");

    // One macro by id, with every field of the API facts; a deleted one is a 404.
    let one = sim.macro_json(ids[0]).unwrap();
    for field in [
        "id",
        "name",
        "intent",
        "language",
        "usage",
        "archived_datetime",
        "created_datetime",
        "updated_datetime",
        "external_id",
        "actions",
    ] {
        assert!(one.get(field).is_some(), "{field} missing: {one}");
    }
    let http = reqwest::Client::new();
    let got = http
        .get(format!("{}/api/macros/{}", server.base_url(), ids[0]))
        .basic_auth(&seeded.bot.email, Some(&seeded.bot.api_key))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.json::<serde_json::Value>().await.unwrap(), one);
    let gone = http
        .get(format!("{}/api/macros/{}", server.base_url(), ids[4]))
        .basic_auth(&seeded.bot.email, Some(&seeded.bot.api_key))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
}

/// The banner `perfectbot sim` prints holds a config perfectbot loads as it is.
#[test]
fn the_sim_banner_shows_the_page_a_config_that_loads_and_a_curl_line() {
    let sim = perfectbot_sim::Sim::new(SimOptions::default());
    let seeded = sim.seed_default();
    let text = perfectbot_sim::cli_banner("http://127.0.0.1:8089", &seeded);
    assert!(text.contains("http://127.0.0.1:8089/chat"), "{text}");
    assert!(
        text.contains("curl -s") && text.contains("/chat/api/conversations"),
        "{text}"
    );
    let start = text.find("[gorgias]").unwrap();
    let end = text[start..].find("then:").unwrap() + start;
    let key = seeded.bot.api_key.clone();
    let env =
        move |name: &str| (name == perfectbot::config::ENV_GORGIAS_API_KEY).then(|| key.clone());
    let cfg = perfectbot::config::parse_str("/tmp/sim.toml", &text[start..end], &env)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(cfg.gorgias.email, seeded.bot.email);
    assert!(text.contains(&format!(
        "PERFECTBOT_GORGIAS_API_KEY={} perfectbot run --config sim.toml",
        seeded.bot.api_key
    )));
}
