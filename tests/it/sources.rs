//! Knowledge the shop already keeps: Gorgias macros and a help-centre website, imported by the
//! daemon against the simulator and its loopback website; edits followed, archived macros and
//! removed pages never used, bad input skipped without losing what is known.

use std::path::Path;
use std::time::{Duration, Instant};

use perfectbot::ledger::TicketState;
use perfectbot_sim::site::{RawPage, Site};
use perfectbot_sim::{Faults, NewMacro, response_text_action};
use serde_json::json;

use crate::common::{TestApp, perfectbot, spawn_app};

async fn wait_reply(app: &TestApp, id: u64, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if app.bot_replies(id).iter().any(|r| r.contains(want)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "ticket {id} never got a reply with {want:?}: {:?}",
            app.bot_replies(id)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (up to 20 s) until every configured source has been refreshed once by the daemon's
/// own loop, so that the test's explicit refreshes never race with it.
async fn wait_first_refresh(app: &TestApp) {
    let want = app.daemon.sources().unwrap().names().len();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let done = app
            .daemon
            .ledger()
            .source_statuses()
            .await
            .unwrap()
            .iter()
            .filter(|s| s.last_attempt.is_some())
            .count();
        if done >= want {
            return;
        }
        assert!(Instant::now() < deadline, "the first refresh never ended");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn refresh(app: &TestApp) -> perfectbot::sources::RefreshReport {
    app.daemon.refresh_sources_once().await.unwrap().unwrap()
}

fn macro_with(name: &str, text: &str) -> NewMacro {
    NewMacro {
        name: name.into(),
        language: Some("en".into()),
        text: text.into(),
        ..NewMacro::default()
    }
}

const LACES: &str = "Do you sell replacement laces for the hiking boots?";

#[tokio::test]
async fn a_question_only_a_macro_answers_is_answered_and_macro_edits_are_followed() {
    let app = spawn_app(|cfg, _| cfg.kb.macros = true).await;
    let laces = app.sim.create_macro(macro_with(
        "Replacement laces for hiking boots",
        "Hi {{ticket.customer.firstname}}, yes: replacement laces cost 4 EUR, in the Spare parts section.",
    ));
    // A macro whose variable the bot cannot fill is never sent.
    app.sim.create_macro(macro_with(
        "Engraving on watches",
        "Hi, {{current_user.firstname}} here: engraving on watches is free.",
    ));
    wait_first_refresh(&app).await;
    refresh(&app).await;

    let first = app.chat(None, LACES);
    wait_reply(&app, first, "Hi Test, yes: replacement laces cost 4 EUR").await;

    let engraving = app.chat(Some("e@example.com"), "Is engraving on watches free?");
    app.wait_state(engraving, TicketState::Escalated).await;
    assert!(
        app.bot_replies(engraving)
            .iter()
            .all(|r| !r.contains("{{") && !r.contains("engraving")),
        "{:?}",
        app.bot_replies(engraving)
    );

    // Edited in Gorgias: the next refresh answers with the new text.
    assert!(app.sim.edit_macro_text(
        laces,
        "Hi {{ticket.customer.firstname}}, laces are now 3 EUR."
    ));
    let report = refresh(&app).await;
    assert!(report.changed);
    let second = app.chat(None, LACES);
    wait_reply(&app, second, "Hi Test, laces are now 3 EUR.").await;

    // Archived: never used again. SIGHUP (what main does with it) refreshes the sources.
    assert!(app.sim.archive_macro(laces));
    app.daemon.kb_reload().notify_one();
    let deadline = Instant::now() + Duration::from_secs(20);
    while app
        .daemon
        .knowledge()
        .sourced("macros")
        .iter()
        .any(|e| e.id == format!("macro:{laces}"))
    {
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not refresh the macros"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let third = app.chat(Some("l@example.com"), LACES);
    app.wait_state(third, TicketState::Escalated).await;
    assert!(
        app.bot_replies(third).iter().all(|r| !r.contains("laces")),
        "{:?}",
        app.bot_replies(third)
    );
    assert!(
        app.daemon
            .knowledge()
            .sourced("macros")
            .iter()
            .all(|e| e.id != format!("macro:{laces}"))
    );
    app.stop().await;
}

#[tokio::test]
async fn odd_macros_are_skipped_and_a_failing_macro_source_keeps_its_entries() {
    let app = spawn_app(|cfg, _| cfg.kb.macros = true).await;
    let html_only = app.sim.create_macro(NewMacro {
        name: "Gift wrapping".into(),
        raw_actions: Some(vec![response_text_action(
            "",
            "<p>Gift wrapping is <b>free</b>.</p>",
        )]),
        ..NewMacro::default()
    });
    app.sim.create_macro(NewMacro {
        name: "Empty".into(),
        raw_actions: Some(vec![response_text_action("  ", "")]),
        ..NewMacro::default()
    });
    app.sim.create_macro(NewMacro {
        name: "Tag and close".into(),
        raw_actions: Some(vec![
            json!({"type": "user", "name": "addTags", "arguments": {"tags": "vip,urgent"}}),
            json!({"type": "user", "name": "setStatus", "arguments": {"status": "closed"}}),
            json!({"type": "system", "name": "somethingNew", "arguments": [1, 2]}),
        ]),
        ..NewMacro::default()
    });
    let good = app
        .sim
        .create_macro(macro_with("Student discount", "Students get 10% off."));
    wait_first_refresh(&app).await;
    refresh(&app).await;
    let mut ids: Vec<String> = app
        .daemon
        .knowledge()
        .sourced("macros")
        .into_iter()
        .map(|e| e.id)
        .collect();
    ids.sort();
    let mut want = vec![format!("macro:{html_only}"), format!("macro:{good}")];
    want.sort();
    assert_eq!(ids, want);
    let wrap = app
        .daemon
        .knowledge()
        .sourced("macros")
        .into_iter()
        .find(|e| e.id == format!("macro:{html_only}"))
        .unwrap();
    assert_eq!(wrap.answer, "Gift wrapping is free.");

    // Gorgias fails on the macros: the entries stay, the failure is recorded.
    app.sim.set_faults(Faults {
        error_rate: 1.0,
        path_prefix: Some("/api/macros".into()),
        ..Faults::default()
    });
    let report = refresh(&app).await;
    assert!(report.sources[0].1.is_err(), "{:?}", report.sources);
    assert_eq!(app.daemon.knowledge().sourced("macros").len(), 2);
    let status = app.daemon.ledger().source_statuses().await.unwrap();
    assert!(
        status[0].last_error.is_some() && status[0].entries == 2,
        "{status:?}"
    );
    app.sim.set_faults(Faults::default());
    let t = app.chat(None, "Is there a student discount?");
    wait_reply(&app, t, "Students get 10% off.").await;
    app.stop().await;
}

const BOOTS_ARTICLE: (&str, &str) = (
    "Can I wash my hiking boots in the machine?",
    "<p>No: clean them by hand with lukewarm water and a soft brush. See the \
     <a href=\"/articles/boot-care\">boot care guide</a>.</p>",
);

fn kb_list(dir: &Path, app: &TestApp) -> String {
    let p = dir.join("list.toml");
    std::fs::write(
        &p,
        format!(
            "[gorgias]\nbase_url = \"http://127.0.0.1:9\"\nemail = \"bot@example.org\"\n\
             api_key_file = \"/nonexistent/key\"\n[ledger]\npath = \"{}\"\n[kb]\ndir = \"{}\"\n",
            app.daemon.config().ledger.path.display(),
            app.daemon.config().kb.dir.display()
        ),
    )
    .unwrap();
    p.display().to_string()
}

#[tokio::test]
async fn a_question_only_the_help_centre_answers_is_answered_and_page_changes_are_followed() {
    let site = Site::help_centre();
    site.set_article("boot-care", "Boot care", &[BOOTS_ARTICLE]);
    let server = site.serve().await.unwrap();
    let sitemap = server.sitemap_url();
    let app = spawn_app(|cfg, _| cfg.kb.sites = vec![sitemap.clone()]).await;
    wait_first_refresh(&app).await;

    let first = app.chat(None, "Can I wash my hiking boots in the washing machine?");
    wait_reply(&app, first, "No: clean them by hand with lukewarm water").await;
    let reply = app.bot_replies(first).join("\n");
    assert!(
        reply.contains(&format!(
            "boot care guide ({}/articles/boot-care)",
            server.base_url()
        )),
        "{reply}"
    );
    for furniture in ["cookies", "Accept all", "Help Centre", "Privacy", "Related"] {
        assert!(!reply.contains(furniture), "{furniture} in {reply}");
    }
    // Polite: robots.txt read, the bot named with its version in every request.
    let requests = site.requests();
    assert!(requests.iter().any(|r| r.path == "/robots.txt"));
    let agent = format!("perfectbot/{}", env!("CARGO_PKG_VERSION"));
    assert!(
        requests.iter().all(|r| r
            .user_agent
            .as_deref()
            .is_some_and(|a| a.starts_with(&agent))),
        "{requests:?}"
    );

    // Nothing changed: pages answer 304 to conditional requests; nothing re-indexed.
    let report = refresh(&app).await;
    assert_eq!(report.pages_read, 0, "{report:?}");
    assert_eq!(report.pages_not_modified, 3, "{report:?}");
    assert!(!report.changed);

    // Edited: the new text at the next refresh.
    site.set_article(
        "boot-care",
        "Boot care",
        &[(
            BOOTS_ARTICLE.0,
            "<p>Yes, on a 30 degree wool cycle, laces removed.</p>",
        )],
    );
    let report = refresh(&app).await;
    assert_eq!((report.pages_read, report.pages_not_modified), (1, 2));
    let second = app.chat(None, "Can I wash my hiking boots in the washing machine?");
    wait_reply(&app, second, "Yes, on a 30 degree wool cycle").await;

    // `kb list` names each entry's source, language and read time; status shows the source.
    let dir = tempfile::tempdir().unwrap();
    let cfg = kb_list(dir.path(), &app);
    let out = perfectbot(vec![
        "kb".into(),
        "list".into(),
        "--config".into(),
        cfg.clone(),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.contains("Can I wash my hiking boots"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let source = format!(
        "site:{}/articles/boot-care#can-i-wash-my-hiking-boots-in-the-machine",
        server.base_url()
    );
    assert!(
        line.starts_with(&format!("{source}\t{source}\ten\t")),
        "{line}"
    );
    assert!(stdout.contains("\tfile:"), "{stdout}");
    assert!(stdout.contains("from sites"), "{stdout}");
    let out = perfectbot(vec!["status".into(), "--config".into(), cfg]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("site:{sitemap}: 4 entries, last refreshed")),
        "{stdout}"
    );

    // Removed from the site: never used again.
    assert!(site.remove_article("boot-care"));
    refresh(&app).await;
    let third = app.chat(
        Some("w@example.com"),
        "Can I wash my hiking boots in the washing machine?",
    );
    app.wait_state(third, TicketState::Escalated).await;
    assert!(
        app.bot_replies(third)
            .iter()
            .all(|r| !r.contains("wool cycle")),
        "{:?}",
        app.bot_replies(third)
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_pages_are_skipped_and_the_rest_of_the_site_loads() {
    let site = Site::help_centre();
    site.set_article("boot-care", "Boot care", &[BOOTS_ARTICLE]);
    site.set_raw(
        "/files/guide.pdf",
        RawPage::Body {
            content_type: "application/pdf".into(),
            body: b"%PDF-1.4 binary".to_vec(),
        },
        true,
    );
    site.set_raw(
        "/articles/huge",
        RawPage::Large {
            content_type: "text/html".into(),
            length: 50 * 1024 * 1024,
        },
        true,
    );
    site.set_raw("/loop-a", RawPage::Redirect("/loop-b".into()), true);
    site.set_raw("/loop-b", RawPage::Redirect("/loop-a".into()), false);
    site.set_raw("/articles/endless", RawPage::Endless, true);
    site.set_raw("/admin/secret", RawPage::Status(200), true);
    let server = site.serve().await.unwrap();
    let sitemap = server.sitemap_url();
    let app = spawn_app(|cfg, _| {
        cfg.kb.sites = vec![sitemap.clone()];
        cfg.kb.site_max_page_bytes = 256 * 1024;
    })
    .await;
    wait_first_refresh(&app).await;
    let name = format!("site:{sitemap}");
    let report = refresh(&app).await;
    assert!(report.sources[0].1.is_ok(), "{report:?}");
    // The three articles load (4 sections); the five odd pages are skipped.
    assert_eq!(app.daemon.knowledge().sourced(&name).len(), 4);
    assert_eq!(report.pages_skipped, 5, "{report:?}");
    let fetched: Vec<String> = site.requests().into_iter().map(|r| r.path).collect();
    assert!(
        !fetched.contains(&"/admin/secret".to_owned()),
        "robots.txt ignored"
    );

    // A sitemap that is not XML: the source fails, its entries stay.
    site.set_sitemap(Some(RawPage::Body {
        content_type: "text/html".into(),
        body: b"<html><body>Oops</body></html>".to_vec(),
    }));
    let report = refresh(&app).await;
    let err = report.sources[0].1.clone().unwrap_err();
    assert!(err.contains("not a sitemap"), "{err}");
    assert_eq!(app.daemon.knowledge().sourced(&name).len(), 4);
    let t = app.chat(None, "Can I wash my hiking boots in the washing machine?");
    wait_reply(&app, t, "No: clean them by hand").await;

    // A sitemap index that lists itself and a sitemap of 100,000 URLs: read once each, the
    // pages capped at kb.site_max_pages (the daemon's default, 1000: requests stay bounded).
    let base = server.base_url();
    site.set_sitemap(Some(RawPage::Body {
        content_type: "application/xml".into(),
        body: format!(
            "<sitemapindex><sitemap><loc>{base}/sitemap.xml</loc></sitemap>\
             <sitemap><loc>{base}/big.xml</loc></sitemap></sitemapindex>"
        )
        .into_bytes(),
    }));
    let mut big = format!(
        "<urlset><url><loc>{base}/articles/boot-care</loc></url><url><loc>{base}/articles/returns</loc></url>"
    );
    for i in 0..100_000 {
        big.push_str(&format!("<url><loc>{base}/articles/gone-{i}</loc></url>"));
    }
    big.push_str("</urlset>");
    site.set_raw(
        "/big.xml",
        RawPage::Body {
            content_type: "application/xml".into(),
            body: big.into_bytes(),
        },
        false,
    );
    let before = site.requests().len();
    let report = refresh(&app).await;
    assert!(report.sources[0].1.is_ok(), "{report:?}");
    let sitemap_reads = site.requests()[before..]
        .iter()
        .filter(|r| r.path == "/sitemap.xml")
        .count();
    assert_eq!(sitemap_reads, 1);
    assert!(
        site.requests().len() - before <= 1000 + 3,
        "{}",
        site.requests().len() - before
    );
    // The pages still listed keep their entries; those no longer listed are dropped.
    let ids: Vec<String> = app
        .daemon
        .knowledge()
        .sourced(&name)
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(ids.iter().all(|i| !i.contains("gift-cards")), "{ids:?}");
    app.stop().await;
}
