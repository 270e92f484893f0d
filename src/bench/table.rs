//! The report as a text table.

use super::*;

/// The report as a table.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<44} {v}\n"));
    line(
        "build / cores",
        format!(
            "{} / {}",
            if r.debug_build { "debug" } else { "release" },
            r.cores
        ),
    );
    if let Some(e) = &r.embed {
        line(
            "embed: load / one message (median, p99)",
            format!(
                "{:.0} ms / {:.1} us, {:.1} us ({} messages)",
                e.load_ms, e.embed_median_us, e.embed_p99_us, e.messages
            ),
        );
        line(
            "embed: kb decision per message (median)",
            format!("{:.1} us", e.decide_median_us),
        );
    }
    for c in &r.conversations {
        line("", String::new());
        line(
            &format!("conversations [{}]", c.label),
            format!(
                "{} started, {} resolved in {:.0} s of clock time ({:.0} s wall; one every {} s)",
                c.conversations, c.resolved, c.clock_s, c.wall_s, c.arrival_every_s
            ),
        );
        line(
            "  pacing (both sides) / poll / close_after",
            format!(
                "{} req/{} s / {} s / {} s{}",
                c.requests_per_window,
                c.window_s,
                c.poll_interval_s,
                c.close_after_s,
                if c.ledger_on_tmpfs {
                    " (ledger on tmpfs)"
                } else {
                    ""
                }
            ),
        );
        line(
            "  API requests per resolved conversation",
            format!(
                "{:.2} (minimum {:.2} = 5 + {} list polls / {})",
                c.requests_per_resolved, c.minimum_per_resolved, c.list_polls, c.resolved
            ),
        );
        line("  429 answers", c.rate_limited.to_string());
        line(
            "  reply latency p50 / p99",
            format!(
                "{} ms / {} ms",
                c.reply_latency_p50_ms, c.reply_latency_p99_ms
            ),
        );
        line(
            "  close lag p50 / p99",
            format!("{} ms / {} ms", c.close_lag_p50_ms, c.close_lag_p99_ms),
        );
        for (route, n) in &c.by_route {
            line(&format!("    {route}"), n.to_string());
        }
    }
    if let Some(c) = &r.ceiling {
        line("", String::new());
        line(
            "ceiling (conversations an hour, one API key)",
            format!(
                "{} sustained{}; limits: 0 429s, all resolved, reply p99 <= {} ms, close lag p99 <= {} ms",
                c.sustained_per_hour
                    .map_or_else(|| "none".to_owned(), |n| n.to_string()),
                c.broke_at_per_hour
                    .map_or_else(String::new, |n| format!(", broke at {n}")),
                c.limits.reply_latency_p99_ms,
                c.limits.close_lag_p99_ms
            ),
        );
        for s in &c.steps {
            line(
                &format!(
                    "  {} an hour ({} conversations)",
                    s.per_hour, s.run.conversations
                ),
                format!(
                    "{}: {}/{} resolved, {:.2} req/resolved, {} 429s, reply p99 {} ms, close lag p50 / p99 {} / {} ms",
                    s.broke_on.as_deref().unwrap_or("held"),
                    s.run.resolved,
                    s.run.conversations,
                    s.run.requests_per_resolved,
                    s.run.rate_limited,
                    s.run.reply_latency_p99_ms,
                    s.run.close_lag_p50_ms,
                    s.run.close_lag_p99_ms
                ),
            );
        }
    }
    if let Some(sw) = &r.sweep {
        line("", String::new());
        line(
            &format!(
                "sweep over {} rows ({} answered, not due)",
                sw.rows, sw.answered_not_due
            ),
            format!(
                "median {:.1} ms of {:?} ms (rows inserted in {:.1} s)",
                sw.median_ms, sw.runs_ms, sw.insert_s
            ),
        );
    }
    if let Some(src) = &r.sources {
        line("", String::new());
        line(
            &format!("import {} macros + {} pages", src.macros, src.pages),
            format!(
                "at {} req/{} s (Gorgias budget)",
                src.requests_per_window, src.window_s
            ),
        );
        for (name, f) in [
            ("first import", &src.first),
            ("refresh, nothing changed", &src.unchanged),
            ("refresh, 10 macros + 10 pages edited", &src.edited),
        ] {
            line(
                &format!("  {name}"),
                format!(
                    "{:.0} ms, {} API requests, {} site requests ({} pages read, {} not modified), {} entries",
                    f.wall_ms,
                    f.api_requests,
                    f.site_requests,
                    f.pages_read,
                    f.pages_not_modified,
                    f.entries
                ),
            );
        }
    }
    if let Some(m) = &r.memory {
        let mib = |k: Option<u64>| {
            k.map_or_else(
                || "not measured".to_owned(),
                |k| format!("{} MiB", k / 1024),
            )
        };
        line(
            &format!(
                "memory, {} tracked tickets (the daemon; simulator in a child process)",
                m.tracked
            ),
            format!(
                "the daemon's peak {}; start RSS {} MiB, before the daemon {} MiB, the simulator's peak {} MiB",
                mib(m.daemon_peak_kib),
                m.start_rss_kib / 1024,
                m.before_daemon_rss_kib / 1024,
                m.sim_hwm_kib / 1024
            ),
        );
        line(
            "  resting RSS before the poll / the poll's rise",
            format!(
                "{} MiB / {}",
                m.resting_rss_kib / 1024,
                mib(m.poll_rise_kib)
            ),
        );
        line(
            "  poll (its requests) / sweep",
            format!(
                "{:.0} ms ({} requests) / {:.1} ms",
                m.poll_ms, m.poll_requests, m.sweep_ms
            ),
        );
    }
    if let Some(idle) = &r.idle {
        line(
            "idle CPU (process, poll every 5 s)",
            format!(
                "{:.0} ms over {:.0} s = {:.2} %",
                idle.cpu_ms, idle.seconds, idle.cpu_percent
            ),
        );
    }
    out
}
