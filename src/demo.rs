//! `perfectbot demo`: the whole lifecycle against the built-in simulator, no account needed.
//! It starts the simulator in-process, runs the real daemon against it with `close_after`
//! shortened to seconds, plays customers and agents through one scripted conversation per
//! lifecycle rule, prints a timeline as it happens, and ends with a table of the tickets.

use crate::clock::SystemClock;
use crate::config::Config;
use crate::daemon::{Daemon, Notice};
use crate::ledger::{Event, TicketState};
use anyhow::{Context as _, bail};
use perfectbot_sim::{NewTicket, ShopifyFulfillment, ShopifyOrder, Sim, SimOptions};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The knowledge base the demo answers from (also the example shipped with the sources).
pub const DEMO_KB: &str = include_str!("../tests/data/kb/shop.toml");

/// Run the demo; returns an error if a conversation did not reach its expected end.
pub async fn run(close_after: Duration, keep: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let started = Instant::now();
    // Always open, and one agent online, so the handover messages say an agent is coming.
    let (sim, server, seeded) = perfectbot_sim::start_seeded(SimOptions::default())
        .await
        .context("starting the simulator")?;
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let dir_path = match &keep {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            d.clone()
        }
        None => tmp.path().to_path_buf(),
    };
    let kb_dir = dir_path.join("kb");
    std::fs::create_dir_all(&kb_dir)?;
    std::fs::write(kb_dir.join("shop.toml"), DEMO_KB)?;

    let mut cfg = Config::for_tests(&server.base_url(), &seeded.bot.email, &seeded.bot.api_key);
    cfg.ledger.path = dir_path.join("ledger.db");
    if keep.is_some() {
        // A fresh ledger each run, and a config that `status` and `report` can read.
        let _ = std::fs::remove_file(&cfg.ledger.path);
        std::fs::write(dir_path.join("api_key"), &seeded.bot.api_key)?;
        std::fs::write(
            dir_path.join("config.toml"),
            format!(
                "# Written by `perfectbot demo --keep`: the demo's simulator is gone once it ends.\n\
                 [gorgias]\nbase_url = \"{}\"\nemail = \"{}\"\napi_key_file = \"api_key\"\n\n\
                 [ledger]\npath = \"ledger.db\"\n\n[kb]\ndir = \"kb\"\n\n[orders]\nenabled = true\n",
                server.base_url(),
                seeded.bot.email
            ),
        )?;
    }
    cfg.kb.dir = kb_dir;
    // The knowledge the shop already keeps: the account's macros and its help centre.
    sim.seed_demo_macros();
    let site = perfectbot_sim::site::Site::help_centre();
    let site_server = site.serve().await.context("serving the help centre")?;
    cfg.kb.macros = true;
    cfg.kb.sites = vec![site_server.sitemap_url()];
    cfg.timing.poll_interval = Duration::from_secs(2);
    cfg.timing.sweep = "*/5 * * * * *".to_string();
    cfg.timing.close_after = close_after;
    cfg.timing.email_wait = Duration::from_secs(30);
    cfg.timing.answer_deadline = Duration::from_secs(20);
    cfg.orders.enabled = true;

    println!(
        "perfectbot demo: a Gorgias simulator at {}",
        server.base_url()
    );
    println!(
        "the bot is user {} ({}); close_after = {}; poll every {}",
        seeded.bot.id,
        seeded.bot.email,
        humantime::format_duration(close_after),
        humantime::format_duration(cfg.timing.poll_interval)
    );
    println!();

    let metrics = if keep.is_some() {
        Some(crate::metrics::install()?)
    } else {
        None
    };
    let daemon = Arc::new(Daemon::build(cfg, Arc::new(SystemClock)).await?);
    // Read the macros and the help centre once before the customers arrive (the daemon does it
    // again at start, in the background).
    if let Some(report) = daemon.refresh_sources_once().await? {
        for (name, outcome) in &report.sources {
            match outcome {
                Ok(n) => println!("knowledge source {name}: {n} entries"),
                Err(e) => println!("knowledge source {name}: FAILED ({e})"),
            }
        }
        println!();
    }
    let bot = daemon.bot_user_id();
    let agent = seeded.agents[0].id;
    let cancel = CancellationToken::new();
    let mut notices = daemon.subscribe();
    let clock0 = started;
    let printer = tokio::spawn(async move {
        let mut seen: Vec<Notice> = Vec::new();
        while let Ok(n) = notices.recv().await {
            let what = if n.actions.is_empty() {
                format!("now {}", n.state)
            } else {
                n.actions.join("; ")
            };
            println!(
                "[{:>5.1}s] #{:<3} bot   {:<16} {}",
                clock0.elapsed().as_secs_f64(),
                n.ticket_id,
                n.rule.as_str(),
                what
            );
            seen.push(n);
        }
        seen
    });
    let runner = {
        let d = daemon.clone();
        let c = cancel.clone();
        tokio::spawn(async move { d.run_until_cancelled(c).await })
    };

    let say = |id: u64, who: &str, text: &str| {
        println!(
            "[{:>5.1}s] #{id:<3} {who:<5} {text}",
            started.elapsed().as_secs_f64()
        );
    };
    let new_chat = |name: &str, email: Option<&str>, text: &str, tags: Vec<String>| {
        let customer = sim.create_customer(name, email);
        sim.create_ticket(NewTicket {
            channel: "chat".into(),
            customer_id: customer,
            first_message: text.into(),
            assignee_user: Some(bot),
            tags,
            ..NewTicket::default()
        })
    };
    let mut scenarios: BTreeMap<u64, (&str, &str)> = BTreeMap::new();
    let wait_for = |what: &'static str, id: u64, want: TicketState| {
        let d = daemon.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                // Rows are written ahead of their actions: wait for those to land too.
                let settled = d
                    .ledger()
                    .actions_for(id)
                    .await?
                    .iter()
                    .all(|a| a.status != crate::ledger::ActionStatus::Pending);
                if settled
                    && d.ledger()
                        .ticket(id)
                        .await?
                        .is_some_and(|r| r.state == want)
                {
                    return anyhow::Ok(());
                }
                if Instant::now() > deadline {
                    bail!("ticket {id} ({what}) did not reach {want} in 60 s");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };

    // 1. Answered, then closed when the customer goes quiet.
    let q = "How long does shipping take?";
    let t1 = new_chat("Ada", Some("ada@example.org"), q, vec![]);
    say(t1, "cust", q);
    scenarios.insert(t1, ("answered, then auto-closed", "closed"));

    // 2. A reply before the close: the bot answers again and the close moves.
    let q = "What payment methods do you accept?";
    let t2 = new_chat("Ben", Some("ben@example.org"), q, vec![]);
    say(t2, "cust", q);
    scenarios.insert(t2, ("customer wrote again before the close", "closed"));

    // 3. A request for a person, email collected first.
    let q = "Can I talk to a human please?";
    let t3 = new_chat("Cleo", None, q, vec![]);
    say(t3, "cust", q);
    scenarios.insert(t3, ("asked for a person; email collected", "escalated"));

    // 4. No knowledge.
    let q = "Do you sponsor football teams?";
    let t4 = new_chat("Dev", Some("dev@example.org"), q, vec![]);
    say(t4, "cust", q);
    scenarios.insert(t4, ("no knowledge; later returned to the bot", "answered"));

    // 5. Frustration.
    let q = "THIS IS USELESS!!! Nothing works and nobody helps";
    let t5 = new_chat("Eve", Some("eve@example.org"), q, vec![]);
    say(t5, "cust", q);
    scenarios.insert(t5, ("frustrated customer", "escalated"));

    // 6. The Not Involved tag keeps the bot off.
    let q = "Where is my order?";
    let t6 = new_chat(
        "Finn",
        Some("finn@example.org"),
        q,
        vec!["PerfectBot: Not Involved".into()],
    );
    say(t6, "cust", q);
    scenarios.insert(t6, ("tagged Not Involved", "ignored"));

    // 7. An agent takes the ticket over.
    let q = "How do I return an item?";
    let t7 = new_chat("Gus", Some("gus@example.org"), q, vec![]);
    say(t7, "cust", q);
    scenarios.insert(t7, ("agent took it over", "released"));

    // 9. A Gorgias rule answered first.
    let customer = sim.create_customer("Hana", Some("hana@example.org"));
    let t9 = sim.create_ticket(NewTicket {
        channel: "chat".into(),
        customer_id: customer,
        first_message: "Is my parcel insured?".into(),
        assignee_user: Some(bot),
        ..NewTicket::default()
    });
    sim.rule_says(
        t9,
        77,
        "Thanks for reaching out! (automatic reply from a Gorgias rule)",
    );
    say(
        t9,
        "cust",
        "Is my parcel insured?   (a Gorgias rule replied automatically)",
    );
    scenarios.insert(t9, ("handled by a Gorgias rule", "ignored"));

    // 10. An email ticket assigned to the bot: not a bot channel.
    let customer = sim.create_customer("Ivo", Some("ivo@example.org"));
    let t10 = sim.create_ticket(NewTicket {
        channel: "email".into(),
        via: "email".into(),
        customer_id: customer,
        first_message: "Please send me an invoice".into(),
        assignee_user: Some(bot),
        ..NewTicket::default()
    });
    say(t10, "cust", "(email) Please send me an invoice");
    scenarios.insert(t10, ("email channel", "ignored"));

    // 11. "Where is my order?": two recent orders, so the bot asks which one, then answers
    // from the Shopify data Gorgias holds on the customer.
    let customer = sim.create_customer("Jo", Some("jo@example.org"));
    let ago =
        |days: i64| Some(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * days));
    sim.add_shopify_order(
        customer,
        &ShopifyOrder {
            number: 1042,
            created_at: ago(3),
            fulfillment_status: Some("fulfilled".into()),
            fulfillments: vec![ShopifyFulfillment {
                status: "success".into(),
                tracking_company: Some("UPS".into()),
                tracking_number: Some("1Z999AA10123456784".into()),
                tracking_url: Some("https://www.ups.com/track?tracknum=1Z999AA10123456784".into()),
                shipment_status: Some("in_transit".into()),
            }],
            items: vec!["Merino Sweater".into()],
            ..ShopifyOrder::default()
        },
    );
    sim.add_shopify_order(
        customer,
        &ShopifyOrder {
            number: 1043,
            created_at: ago(1),
            items: vec!["Wool Socks".into()],
            ..ShopifyOrder::default()
        },
    );
    let q = "Hi, where is my order?";
    let t11 = sim.create_ticket(NewTicket {
        channel: "chat".into(),
        customer_id: customer,
        first_message: q.into(),
        assignee_user: Some(bot),
        ..NewTicket::default()
    });
    say(t11, "cust", q);
    scenarios.insert(t11, ("order status, number asked for", "closed"));

    wait_for(
        "asked for the order number",
        t11,
        TicketState::AwaitingOrder,
    )
    .await?;
    let q = "It's #1042";
    sim.customer_says(t11, q);
    say(t11, "cust", q);

    // 12. Answered from a Gorgias macro (its {{ticket.customer.firstname}} filled in).
    let q = "Do you sell replacement laces for my hiking boots?";
    let t12 = new_chat("Jo Walker", Some("jw@example.org"), q, vec![]);
    say(t12, "cust", q);
    scenarios.insert(t12, ("answered from a Gorgias macro", "closed"));

    // 13. Answered from the help-centre website.
    let q = "Can I wash my hiking boots in the washing machine?";
    let t13 = new_chat("Kim", Some("kim@example.org"), q, vec![]);
    say(t13, "cust", q);
    scenarios.insert(t13, ("answered from the help centre", "closed"));

    wait_for("answered", t2, TicketState::Answered).await?;
    let q = "And can I pay with PayPal?";
    sim.customer_says(t2, q);
    say(t2, "cust", q);

    wait_for("awaiting email", t3, TicketState::AwaitingEmail).await?;
    let q = "sure, it's cleo.m@example.org";
    sim.customer_says(t3, q);
    say(t3, "cust", q);

    wait_for("answered", t7, TicketState::Answered).await?;
    sim.assign(t7, Some(agent), None);
    say(t7, "agent", "assigns the ticket to themselves");
    wait_for("released", t7, TicketState::Released).await?;
    let q = "Thanks, and the return label?";
    sim.customer_says(t7, q);
    say(t7, "cust", q);
    sim.agent_says(t7, agent, "I'll send you a label right away.");
    say(t7, "agent", "I'll send you a label right away.");

    // 8. Returned to the bot: the agent removes the tag and reassigns it.
    wait_for("escalated", t4, TicketState::Escalated).await?;
    sim.agent_says(t4, agent, "We don't, sorry! Anything else?");
    sim.remove_tags(t4, &["PerfectBot: Agent Check Recommended"]);
    sim.assign(t4, Some(bot), None);
    say(
        t4,
        "agent",
        "answers, removes the tag and gives the ticket back to the bot",
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let q = "Ok. How long does shipping take?";
    sim.customer_says(t4, q);
    say(t4, "cust", q);

    for (&id, &(what, want)) in &scenarios {
        let want = TicketState::parse(want).expect("scenario states are valid");
        let _ = what;
        if want == TicketState::Answered {
            wait_for("answered", id, want).await?;
        }
    }
    for (&id, &(_, want)) in &scenarios {
        let want = TicketState::parse(want).expect("scenario states are valid");
        if want != TicketState::Answered {
            wait_for("end state", id, want).await?;
        }
    }

    cancel.cancel();
    runner.await.context("the daemon task")??;
    let mut states = BTreeMap::new();
    for &id in scenarios.keys() {
        if let Some(r) = daemon.ledger().ticket(id).await? {
            states.insert(id, r.state.to_string());
        }
    }
    let events = daemon
        .ledger()
        .events_since(jiff::Timestamp::UNIX_EPOCH)
        .await?;
    drop(daemon);
    drop(site_server);
    let _ = printer.await;

    println!();
    print_table(&sim, &scenarios, &states, bot);
    let figure = |of: fn(&Event) -> Option<u64>| -> Vec<i64> {
        let mut v: Vec<i64> = events
            .iter()
            .filter_map(|e| of(&e.event))
            .map(|ms| i64::try_from(ms).unwrap_or(i64::MAX))
            .collect();
        v.sort_unstable();
        v
    };
    let lags = figure(|e| match e {
        Event::Closed { lag_ms, .. } => *lag_ms,
        _ => None,
    });
    let latencies = figure(|e| match e {
        Event::Answered { latency_ms, .. } => *latency_ms,
        _ => None,
    });
    println!();
    println!(
        "close lag (deadline to close): median {} ms, max {} ms over {} closes",
        median(&lags),
        lags.last().copied().unwrap_or(0),
        lags.len()
    );
    println!(
        "reply latency (customer message to answer): median {} ms, max {} ms over {} answers",
        median(&latencies),
        latencies.last().copied().unwrap_or(0),
        latencies.len()
    );
    let stats = sim.stats();
    println!();
    println!(
        "{} API requests, {} answered 429 (rate limit {} per 20 s); {:.1} s in all",
        stats.requests,
        stats.rate_limited,
        40,
        started.elapsed().as_secs_f64()
    );
    if let Some(handle) = metrics {
        println!();
        println!("/metrics at the end of the demo (histogram buckets left out):");
        for line in handle.render().lines() {
            if !line.trim().is_empty() && !line.starts_with('#') && !line.contains("_bucket") {
                println!("  {line}");
            }
        }
        println!();
        println!(
            "kept the ledger in {}: try `perfectbot status --config {}/config.toml` and `perfectbot report --config {}/config.toml --since 1h`",
            dir_path.display(),
            dir_path.display(),
            dir_path.display()
        );
    }
    server.shutdown().await;
    Ok(())
}

fn median(v: &[i64]) -> i64 {
    if v.is_empty() { 0 } else { v[v.len() / 2] }
}

fn print_table(
    sim: &Sim,
    scenarios: &BTreeMap<u64, (&str, &str)>,
    states: &BTreeMap<u64, String>,
    bot: u64,
) {
    println!(
        "{:<5} {:<42} {:<7} {:<12} {:<11} tags",
        "ticket", "scenario", "status", "assignee", "bot state"
    );
    for (&id, &(what, _)) in scenarios {
        let Some(t) = sim.ticket_json(id) else {
            continue;
        };
        let state = states.get(&id).map_or("-", String::as_str);
        let status = t["status"].as_str().unwrap_or("?").to_string();
        let assignee = match (
            t["assignee_user"]["id"].as_u64(),
            t["assignee_team"]["id"].as_u64(),
        ) {
            (Some(u), _) if u == bot => "bot".to_string(),
            (Some(u), _) => format!("user {u}"),
            (None, Some(team)) => format!("team {team}"),
            (None, None) => "unassigned".to_string(),
        };
        let tags: Vec<&str> = t["tags"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["name"].as_str()).collect())
            .unwrap_or_default();
        println!(
            "#{:<5} {:<42} {:<7} {:<12} {:<11} {}",
            id,
            what,
            status,
            assignee,
            state,
            tags.join(", ")
        );
    }
}
