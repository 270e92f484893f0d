//! Business hours on arbitrary input, from both sources the daemon reads them from:
//! - the config file's `[business_hours]` fields (days, from, to, time zone, holidays) through
//!   the same parsers `config.rs` uses;
//! - Gorgias's `business-hours` setting JSON through `parse_business_hours` and
//!   `BusinessHours::from_gorgias`.
//!
//! Then `is_open`, `next_open` and `describe_next_open` at an arbitrary instant. Errors must
//! be non-empty messages; nothing may panic.
//!
//! Input layout: 8 bytes of timestamp (seconds, folded into jiff's range), then UTF-8 text.
//! Text starting with `{` or `[` is the Gorgias JSON; otherwise its lines are
//! `timezone`, `holiday dates (comma-separated)`, then `days|from|to` ranges.
#![no_main]

use jiff::Timestamp;
use jiff::civil::Date;
use libfuzzer_sys::fuzz_target;
use perfectbot::gorgias::decode::parse_business_hours;
use perfectbot::hours::{BusinessHours, HoursRange, parse_days, parse_end_hhmm, parse_hhmm};

fn instant(bytes: [u8; 8]) -> Timestamp {
    let min = Timestamp::MIN.as_second();
    let max = Timestamp::MAX.as_second();
    let span = (max - min) as u64 + 1;
    let secs = min + (u64::from_le_bytes(bytes) % span) as i64;
    Timestamp::from_second(secs).expect("folded into jiff's range")
}

fn exercise(hours: &BusinessHours, now: Timestamp) {
    let open = hours.is_open(now);
    let next = hours.next_open(now);
    if open {
        assert!(next.is_none(), "open now, yet a next opening");
    }
    if let Some(at) = next {
        assert!(at > now, "next opening {at} not after {now}");
        assert!(hours.is_open(at), "not open at its own next opening {at}");
    }
    let described = hours.describe_next_open(now);
    if let Some(d) = &described {
        assert!(!d.trim().is_empty());
    }
    let _ = hours.timezone_name();
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let now = instant(data[..8].try_into().expect("8 bytes"));
    let Ok(text) = std::str::from_utf8(&data[8..]) else {
        return;
    };

    if text.starts_with('{') || text.starts_with('[') {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
            return;
        };
        match parse_business_hours(v) {
            Ok(Some(setting)) => match BusinessHours::from_gorgias(&setting, Vec::new()) {
                Ok(hours) => exercise(&hours, now),
                Err(e) => assert!(!e.is_empty()),
            },
            Ok(None) => {}
            Err(e) => assert!(!e.is_empty()),
        }
        return;
    }

    let mut lines = text.lines();
    let tz = lines.next().unwrap_or("");
    let holidays: Vec<Date> = lines
        .next()
        .unwrap_or("")
        .split(',')
        .filter_map(|d| d.trim().parse::<Date>().ok())
        .collect();
    let mut ranges = Vec::new();
    for line in lines.take(8) {
        let mut parts = line.splitn(3, '|');
        let (days, from, to) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        for r in [parse_days(days).err(), parse_hhmm(from).err(), parse_end_hhmm(to).err()] {
            if let Some(e) = r {
                assert!(!e.is_empty());
            }
        }
        match HoursRange::parse(days, from, to) {
            Ok(r) => {
                let _ = r.crosses_midnight();
                ranges.push(r);
            }
            Err(e) => assert!(!e.is_empty()),
        }
    }
    match BusinessHours::new(tz, ranges, holidays) {
        Ok(hours) => exercise(&hours, now),
        Err(e) => assert!(!e.is_empty()),
    }
});
