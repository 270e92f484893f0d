//! The shipped Grafana dashboard and Prometheus alert rules use only metrics a real bot
//! exports: every `perfectbot_*` name in `dashboards/` must appear in a `/metrics` scrape of a
//! daemon that answered, handed over and closed (histograms through their `_bucket`, `_sum`
//! and `_count` series), and every label they group by must be one the scrape carries.

use crate::common::*;
use perfectbot::ledger::TicketState;
use std::collections::BTreeSet;

const DASHBOARD: &str = include_str!("../../dashboards/grafana-perfectbot.json");
const ALERTS: &str = include_str!("../../dashboards/prometheus-alerts.yml");

/// Every `perfectbot_...` identifier in a text.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("perfectbot_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

/// Every label name in `by (a, b)` groupings of a text.
fn grouping_labels(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("by (") {
        let tail = &rest[i + 4..];
        let end = tail.find(')').unwrap_or(tail.len());
        for l in tail[..end].split(',') {
            out.insert(l.trim().to_string());
        }
        rest = &tail[end..];
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_and_alerts_use_only_exported_metrics() {
    let dashboard: serde_json::Value = serde_json::from_str(DASHBOARD).expect("valid JSON");
    assert!(dashboard["panels"].as_array().is_some_and(|p| p.len() >= 8));

    let app = spawn_app(|_, _| {}).await;
    let server = app.serve_http().await;
    let answered = app.chat(Some("ada@example.org"), "How long does shipping take?");
    let angry = app.chat(Some("hal@example.org"), "I want to talk to a human");
    app.wait_state(answered, TicketState::Closed).await;
    app.wait_state(angry, TicketState::Escalated).await;
    let page = reqwest::get(format!("http://{}/metrics", server.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let exported: BTreeSet<String> = page
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect();
    let labels: BTreeSet<String> = page
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| Some(l.split_once('{')?.1.split_once('}')?.0))
        .flat_map(|ls| {
            ls.split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, _)| k.to_string())
        })
        .collect();
    for (file, text) in [
        ("grafana-perfectbot.json", DASHBOARD),
        ("prometheus-alerts.yml", ALERTS),
    ] {
        let used = metric_names(text);
        assert!(used.len() >= 6, "{file}: {used:?}");
        for name in &used {
            assert!(
                exported.contains(name),
                "{file} uses {name}, which /metrics does not export:\n{page}"
            );
        }
        for label in grouping_labels(text) {
            assert!(
                label == "le" || labels.contains(&label),
                "{file} groups by {label:?}, a label /metrics does not carry:\n{page}"
            );
        }
    }
    // The alerts the issue asks for are all there.
    for alert in [
        "PerfectbotDown",
        "PerfectbotPollsFailing",
        "PerfectbotRateLimited",
        "PerfectbotHandoverRateJump",
        "PerfectbotCloseLag",
    ] {
        assert!(ALERTS.contains(&format!("alert: {alert}\n")), "{alert}");
    }
    app.stop().await;
}
