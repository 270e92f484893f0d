//! Business hours: "are we open at this instant, and when do we open next", in the business's
//! own time zone, with ranges across midnight, holidays and DST handled by jiff.
//!
//! Pure: no I/O and no clock reads. Every question takes `now` as an argument; the caller gets
//! it from the injected clock. The same types serve both sources of hours: the config file
//! (`[business_hours]`) and the Gorgias `business-hours` account setting.
//!
//! Rules (chosen where the spec was silent, and relied on by tests):
//! - A range belongs to the day it starts on. `to` earlier than (or equal to) `from` runs into
//!   the next day: Fri 22:00-06:00 is open Fri 22:00 -> Sat 06:00. `from == to` is a full
//!   24 hours starting at `from` ("00:00"-"00:00" is the whole day). `to = 24:00` ends at the
//!   next midnight.
//! - A holiday closes its whole local calendar day, including the after-midnight tail of an
//!   overnight range that started the evening before. The tail of an overnight range that
//!   starts on a holiday still opens at midnight on the (non-holiday) next day.
//! - Open-ness is read off the local wall clock: a range that starts inside a DST gap
//!   (e.g. 02:30 on spring-forward day) opens the moment the clock jumps past its start.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;

/// How far ahead `next_open` looks before giving up ("never opens").
const SEARCH_DAYS: usize = 400;

/// One opening range: the days it starts on and its local start and end time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoursRange {
    /// Which days the range starts on; index 0 = Monday .. 6 = Sunday.
    pub days: [bool; 7],
    /// Local start time.
    pub from: Time,
    /// Local end time; `None` = 24:00. At or before `from` means "the next day".
    pub to: Option<Time>,
}

impl HoursRange {
    /// Parses one range from its text form: days as accepted by [`parse_days`], `from` as
    /// "HH:MM", `to` as "HH:MM" or "24:00".
    pub fn parse(days: &str, from: &str, to: &str) -> Result<Self, String> {
        let days = parse_days(days)?;
        let from = parse_hhmm(from)?;
        let to = parse_end_hhmm(to)?;
        Ok(HoursRange { days, from, to })
    }

    /// True when the range runs past midnight into the next day.
    pub fn crosses_midnight(&self) -> bool {
        matches!(self.to, Some(to) if to <= self.from)
    }

    /// Open on the day it starts, at local time `t` of weekday index `wd`.
    fn open_on_start_day(&self, wd: usize, t: Time) -> bool {
        if !self.days[wd] || t < self.from {
            return false;
        }
        match self.to {
            Some(to) if to > self.from => t < to,
            // 24:00, or an overnight range: open until the end of the start day.
            _ => true,
        }
    }

    /// Open in the after-midnight tail of a range that started the day before (`prev_wd`).
    fn open_in_tail(&self, prev_wd: usize, t: Time) -> bool {
        match self.to {
            Some(to) if to <= self.from => self.days[prev_wd] && t < to,
            _ => false,
        }
    }
}

/// When the business is open: a time zone, weekly ranges and holiday dates.
#[derive(Debug, Clone)]
pub struct BusinessHours {
    tz: TimeZone,
    tz_name: String,
    ranges: Vec<HoursRange>,
    holidays: BTreeSet<Date>,
    /// No ranges at all: open around the clock (holidays still close).
    always_open: bool,
}

impl BusinessHours {
    /// Open around the clock, every day, in UTC, with no holidays.
    pub fn always_open() -> Self {
        BusinessHours {
            tz: TimeZone::UTC,
            tz_name: "UTC".to_string(),
            ranges: Vec::new(),
            holidays: BTreeSet::new(),
            always_open: true,
        }
    }

    /// Builds hours in the named IANA time zone (e.g. "Europe/Paris", "US/Pacific").
    /// An empty `ranges` means always open; holidays close whole local days either way.
    pub fn new(
        tz_name: &str,
        ranges: Vec<HoursRange>,
        holidays: Vec<Date>,
    ) -> Result<Self, String> {
        let tz = TimeZone::get(tz_name)
            .map_err(|e| format!("{tz_name:?} is not a known time zone ({e})"))?;
        Ok(BusinessHours {
            tz,
            tz_name: tz_name.to_string(),
            always_open: ranges.is_empty(),
            ranges,
            holidays: holidays.into_iter().collect(),
        })
    }

    /// Builds hours from the Gorgias `business-hours` account setting. An empty list of ranges
    /// means always open (Gorgias's own meaning); holidays, which Gorgias does not model, still
    /// close. An empty time zone is taken as UTC.
    pub fn from_gorgias(
        setting: &crate::gorgias::model::BusinessHoursSetting,
        holidays: Vec<Date>,
    ) -> Result<Self, String> {
        let tz_name = match setting.timezone.trim() {
            "" => "UTC",
            name => name,
        };
        let ranges = setting
            .business_hours
            .iter()
            .enumerate()
            .map(|(i, r)| {
                HoursRange::parse(&r.days, &r.from_time, &r.to_time).map_err(|e| {
                    format!(
                        "Gorgias business hours range {} (days {:?}, {:?}-{:?}): {e}",
                        i + 1,
                        r.days,
                        r.from_time,
                        r.to_time
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(tz_name, ranges, holidays)
            .map_err(|e| format!("Gorgias business hours time zone: {e}"))
    }

    /// Is the business open at `now`?
    pub fn is_open(&self, now: Timestamp) -> bool {
        self.is_open_local(self.tz.to_datetime(now))
    }

    fn is_open_local(&self, dt: DateTime) -> bool {
        let date = dt.date();
        if self.holidays.contains(&date) {
            return false;
        }
        if self.always_open {
            return true;
        }
        let wd = weekday_index(date);
        let prev_wd = (wd + 6) % 7;
        let t = dt.time();
        self.ranges
            .iter()
            .any(|r| r.open_on_start_day(wd, t) || r.open_in_tail(prev_wd, t))
    }

    /// The first instant after `now` at which the business is open. `None` if it is open now,
    /// or if it does not open within the next 400 days (e.g. no range has any day).
    pub fn next_open(&self, now: Timestamp) -> Option<Timestamp> {
        if self.is_open(now) {
            return None;
        }
        // The business can only become open at a range start, at a local midnight (a holiday
        // ends) or at a time-zone transition (the wall clock jumps). Checking those candidates
        // in order, day by day, finds the exact opening instant, DST or not.
        let mut day = self.tz.to_datetime(now).date();
        for _ in 0..SEARCH_DAYS {
            let next_day = day.tomorrow().ok()?;
            let day_start = self.start_of_day(day)?;
            let day_end = self.start_of_day(next_day)?;
            let mut candidates = vec![day_start];
            if !self.holidays.contains(&day) {
                let wd = weekday_index(day);
                for r in self.ranges.iter().filter(|r| r.days[wd]) {
                    let amb = self.tz.to_ambiguous_timestamp(day.to_datetime(r.from));
                    // Both readings of a time in a DST fold are real openings.
                    candidates.extend(amb.earlier().ok());
                    candidates.extend(amb.later().ok());
                }
            }
            candidates.extend(
                self.tz
                    .following(day_start)
                    .map(|tr| tr.timestamp())
                    .take_while(|ts| *ts < day_end),
            );
            candidates.sort();
            let found = candidates
                .into_iter()
                .filter(|c| *c > now && *c < day_end)
                .find(|c| self.is_open(*c));
            if found.is_some() {
                return found;
            }
            day = next_day;
        }
        None
    }

    /// The next opening in English words, in the business's time zone: "Monday 09:00 CET".
    /// Always the weekday name (never "today"/"tomorrow"), so a template reads "We open again
    /// Monday 09:00 CET". Seven or more days ahead the date is added: "Monday 5 January 09:00
    /// CET". `None` when open now or never opening. Same as [`Self::describe_next_open_in`]
    /// with no language.
    pub fn describe_next_open(&self, now: Timestamp) -> Option<String> {
        self.describe_next_open_in(now, None)
    }

    /// The next opening in words in `language` (a Gorgias tag: "fr", "fr-FR", "pt_BR"; see
    /// [`NextOpen::describe`] for the forms). Unknown or absent language: English.
    pub fn describe_next_open_in(&self, now: Timestamp, language: Option<&str>) -> Option<String> {
        Some(self.next_open_local(now)?.describe(language))
    }

    /// The next opening as the business's wall clock shows it, ready to be put into words in
    /// any language ([`NextOpen::describe`]). `None` when open now or never opening.
    pub fn next_open_local(&self, now: Timestamp) -> Option<NextOpen> {
        let at = self.next_open(now)?;
        let local = self.tz.to_datetime(at);
        let today = self.tz.to_datetime(now).date();
        let days_ahead = today.until(local.date()).ok()?.get_days();
        let info = self.tz.to_offset_info(at);
        let abbr = info.abbreviation();
        // tzdata writes zones without a letter abbreviation as "-03"/"+0530".
        let zone = if abbr.starts_with('+') || abbr.starts_with('-') {
            format!("UTC{abbr}")
        } else {
            abbr.to_string()
        };
        Some(NextOpen {
            local,
            days_ahead,
            zone,
        })
    }

    /// The time zone name as configured or as Gorgias gave it (e.g. "US/Pacific").
    pub fn timezone_name(&self) -> String {
        self.tz_name.clone()
    }

    /// The configured ranges (empty = always open).
    pub fn ranges(&self) -> &[HoursRange] {
        &self.ranges
    }

    /// True when there are no ranges: open around the clock except on holidays.
    pub fn is_always_open(&self) -> bool {
        self.always_open
    }

    /// The first instant of a local day (after the gap, if midnight falls in one).
    fn start_of_day(&self, day: Date) -> Option<Timestamp> {
        self.tz.to_timestamp(day.to_datetime(Time::midnight())).ok()
    }
}

/// The next opening: local wall time in the business's zone, how many local days ahead of
/// `now` it is, and the zone's abbreviation at that instant. Plain data, so the engine can put
/// it into words in each ticket's language without knowing the hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextOpen {
    /// The opening as the business's wall clock shows it.
    pub local: DateTime,
    /// Local calendar days from `now` to the opening (0 = later today).
    pub days_ahead: i32,
    /// The zone's abbreviation at the opening ("CET", "CEST", "PST"; "UTC-03" when tzdata has
    /// no letters).
    pub zone: String,
}

impl NextOpen {
    /// The opening in words, in `language` (a Gorgias tag such as "fr", "DE", "pt_BR"; unknown
    /// or absent = English). Always the weekday, 24-hour time and the zone; seven or more days
    /// ahead the date too. Outside English the words are a phrase of time that reads where the
    /// language's "soon" would (the built-in templates rely on this):
    ///
    /// - en: "Monday 09:00 CET", "Thursday 1 January 09:00 CET"
    /// - fr: "lundi à 09:00 CET", "jeudi 1er janvier à 09:00 CET"
    /// - de: "am Montag um 09:00 CET", "am Donnerstag, 1. Januar um 09:00 CET"
    /// - es: "el lunes a las 09:00 CET", "el jueves 1 de enero a las 09:00 CET"
    /// - it: "lunedì alle 09:00 CET", "giovedì 1 gennaio alle 09:00 CET"
    /// - nl: "maandag om 09:00 CET", "donderdag 1 januari om 09:00 CET"
    /// - pt: "segunda-feira às 09:00 CET", "quinta-feira, 1 de janeiro, às 09:00 CET"
    ///
    /// English keeps its historical form (no "on"/"at") so existing custom templates read as
    /// before.
    pub fn describe(&self, language: Option<&str>) -> String {
        let lang = language
            .and_then(crate::lang::language_code)
            .unwrap_or_default();
        let date = self.local.date();
        let wd = weekday_index(date);
        let day = date.day();
        let month = usize::try_from(date.month() - 1).expect("months are 1..=12");
        let hm = self.local.strftime("%H:%M");
        let zone = &self.zone;
        let far = self.days_ahead >= 7;
        let Some(words) = date_names(&lang).or_else(|| date_names("en")) else {
            let when = if far {
                self.local.strftime("%A %-d %B %H:%M").to_string()
            } else {
                self.local.strftime("%A %H:%M").to_string()
            };
            return format!("{when} {zone}");
        };
        let phrase = if far {
            &words.opening.later
        } else {
            &words.opening.soon
        };
        let day = match &words.opening.first_day {
            Some(first) if day == 1 => first.clone(),
            _ => day.to_string(),
        };
        phrase
            .replace("{weekday}", &words.names.days[wd])
            .replace("{day}", &day)
            .replace("{month}", &words.names.months[month])
            .replace("{time}", &hm.to_string())
            .replace("{zone}", zone)
    }
}

/// Day and month names of one language: `[dates]` of `src/lang/<code>.toml`, Monday and
/// January first.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DateNames {
    days: [String; 7],
    months: [String; 12],
}

/// How one language says when the team opens next: `[opening]` of `src/lang/<code>.toml`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Opening {
    /// Within the week: the weekday, time and zone.
    soon: String,
    /// Seven or more days ahead: the date too.
    later: String,
    /// The first of the month, where it is not written "1" (French "1er").
    #[serde(default)]
    first_day: Option<String>,
}

/// A built-in language's words for dates.
#[derive(Debug)]
struct DateWords {
    code: &'static str,
    names: DateNames,
    opening: Opening,
}

/// The date words of a built-in language, read once. A language whose words do not load (a
/// test checks they all do) describes its openings in English.
fn date_names(code: &str) -> Option<&'static DateWords> {
    static NAMES: std::sync::OnceLock<Vec<DateWords>> = std::sync::OnceLock::new();
    NAMES
        .get_or_init(|| {
            crate::lang::BUILTIN_LANGUAGES
                .iter()
                .filter_map(|code| {
                    let names = crate::lang::table::<DateNames>(code, "dates").ok()??;
                    let opening = crate::lang::table::<Opening>(code, "opening").ok()??;
                    Some(DateWords {
                        code,
                        names,
                        opening,
                    })
                })
                .collect()
        })
        .iter()
        .find(|names| names.code == code)
}

fn weekday_index(date: Date) -> usize {
    // to_monday_zero_offset is 0..=6 by construction.
    date.weekday().to_monday_zero_offset() as usize
}

/// Parses a set of days. Accepts Gorgias-style numbers ("1,2,3,4,5", 1 = Monday .. 7 = Sunday),
/// names and abbreviations ("mon,wed,fri", "saturday"), ranges of either ("mon-fri", "1-5",
/// "fri-mon" wraps over the weekend), and "weekdays", "weekend", "daily". Case-insensitive,
/// comma-separated. Returns the days with index 0 = Monday.
pub fn parse_days(s: &str) -> Result<[bool; 7], String> {
    let mut days = [false; 7];
    if s.trim().is_empty() {
        return Err("no days given (e.g. \"mon-fri\" or \"1,2,3,4,5\")".to_string());
    }
    for token in s.split(',') {
        let token = token.trim().to_ascii_lowercase();
        match token.as_str() {
            "weekdays" => days[..5].iter_mut().for_each(|d| *d = true),
            "weekend" | "weekends" => days[5..].iter_mut().for_each(|d| *d = true),
            "daily" | "all" | "every day" => days.iter_mut().for_each(|d| *d = true),
            _ => match token.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (parse_day(a.trim())?, parse_day(b.trim())?);
                    let mut d = a;
                    loop {
                        days[d] = true;
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => days[parse_day(&token)?] = true,
            },
        }
    }
    Ok(days)
}

/// One day token to its Monday-zero index.
fn parse_day(token: &str) -> Result<usize, String> {
    let index = match token {
        "1" | "mon" | "monday" => 0,
        "2" | "tue" | "tues" | "tuesday" => 1,
        "3" | "wed" | "weds" | "wednesday" => 2,
        "4" | "thu" | "thur" | "thurs" | "thursday" => 3,
        "5" | "fri" | "friday" => 4,
        "6" | "sat" | "saturday" => 5,
        "7" | "sun" | "sunday" => 6,
        _ => {
            return Err(format!(
                "{token:?} is not a day (use 1-7 with 1 = Monday, or mon, tue, .. sun, \
                 or a range like \"mon-fri\")"
            ));
        }
    };
    Ok(index)
}

/// Parses a local start time "HH:MM" (also "H:MM" and "HH:MM:SS", as Gorgias may send).
/// "24:00" is refused here: it is only an end time (see [`parse_end_hhmm`]).
pub fn parse_hhmm(s: &str) -> Result<Time, String> {
    match parse_end_hhmm(s)? {
        Some(t) => Ok(t),
        None => Err(format!("{s:?}: 24:00 is only allowed as an end time")),
    }
}

/// Parses a local end time: "HH:MM" as [`parse_hhmm`], or "24:00" (= `None`, the next
/// midnight).
pub fn parse_end_hhmm(s: &str) -> Result<Option<Time>, String> {
    let bad = || format!("{s:?} is not a time (use \"HH:MM\", e.g. \"09:00\" or \"17:30\")");
    let text = s.trim();
    let mut parts = text.split(':');
    let (Some(h), Some(m)) = (parts.next(), parts.next()) else {
        return Err(bad());
    };
    let sec = parts.next();
    if parts.next().is_some() {
        return Err(bad());
    }
    let number = |p: &str, len: std::ops::RangeInclusive<usize>| -> Result<i8, String> {
        if !len.contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        p.parse::<i8>().map_err(|_| bad())
    };
    let hour = number(h, 1..=2)?;
    let minute = number(m, 2..=2)?;
    let second = match sec {
        Some(x) => number(x, 2..=2)?,
        None => 0,
    };
    if hour == 24 && minute == 0 && second == 0 {
        return Ok(None);
    }
    Time::new(hour, minute, second, 0)
        .map(Some)
        .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gorgias::model::{BusinessHoursRange, BusinessHoursSetting};
    use jiff::civil::{date, time};

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("test timestamp")
    }

    fn range(days: &str, from: &str, to: &str) -> HoursRange {
        HoursRange::parse(days, from, to).expect("test range")
    }

    fn paris_office() -> BusinessHours {
        BusinessHours::new(
            "Europe/Paris",
            vec![range("mon-fri", "09:00", "18:00")],
            vec![],
        )
        .expect("paris")
    }

    #[test]
    fn every_language_has_seven_day_names_and_twelve_month_names() {
        for code in crate::lang::BUILTIN_LANGUAGES {
            crate::lang::table::<DateNames>(code, "dates")
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|| panic!("{code}: no [dates]"));
            assert_eq!(date_names(code).map(|n| n.code), Some(code));
        }
        assert!(date_names("xx").is_none());
    }

    #[test]
    fn weekday_office_hours_open_and_close_in_local_time() {
        let h = paris_office();
        // Wednesday 2025-01-15, Paris is UTC+1 in winter.
        assert!(!h.is_open(ts("2025-01-15T07:59:59Z")));
        assert!(h.is_open(ts("2025-01-15T08:00:00Z")));
        assert!(h.is_open(ts("2025-01-15T16:59:59Z")));
        assert!(!h.is_open(ts("2025-01-15T17:00:00Z")));
        // Saturday.
        assert!(!h.is_open(ts("2025-01-18T10:00:00Z")));
    }

    #[test]
    fn overnight_range_runs_into_the_next_day() {
        let h = BusinessHours::new("UTC", vec![range("fri", "22:00", "06:00")], vec![]).unwrap();
        // Friday 2025-01-17.
        assert!(!h.is_open(ts("2025-01-17T21:59:00Z")));
        assert!(h.is_open(ts("2025-01-17T22:00:00Z")));
        assert!(h.is_open(ts("2025-01-18T05:59:00Z")));
        assert!(!h.is_open(ts("2025-01-18T06:00:00Z")));
        // Not on Saturday night: the range starts on Fridays only.
        assert!(!h.is_open(ts("2025-01-18T23:00:00Z")));
        // Thursday early morning is not the tail of anything.
        assert!(!h.is_open(ts("2025-01-16T03:00:00Z")));
        assert_eq!(
            h.next_open(ts("2025-01-18T06:00:00Z")),
            Some(ts("2025-01-24T22:00:00Z"))
        );
    }

    #[test]
    fn end_of_24_00_closes_at_midnight() {
        let h = BusinessHours::new("UTC", vec![range("mon", "20:00", "24:00")], vec![]).unwrap();
        assert!(h.is_open(ts("2025-01-13T23:59:59Z")));
        assert!(!h.is_open(ts("2025-01-14T00:00:00Z")));
    }

    #[test]
    fn holidays_close_the_whole_local_day() {
        let h = BusinessHours::new(
            "Europe/Paris",
            vec![range("mon-fri", "09:00", "18:00")],
            vec![date(2025, 12, 25)],
        )
        .unwrap();
        // Christmas Thursday closed, Friday open again.
        assert!(!h.is_open(ts("2025-12-25T10:00:00Z")));
        assert!(h.is_open(ts("2025-12-26T10:00:00Z")));
        assert_eq!(
            h.next_open(ts("2025-12-24T18:00:00Z")),
            Some(ts("2025-12-26T08:00:00Z"))
        );
    }

    #[test]
    fn holiday_cuts_the_tail_of_an_overnight_range_but_not_the_tail_after_it() {
        let h = BusinessHours::new(
            "UTC",
            vec![range("daily", "22:00", "06:00")],
            vec![date(2025, 12, 25)],
        )
        .unwrap();
        // Dec 24 22:00 opens, the tail on Dec 25 is closed by the holiday.
        assert!(h.is_open(ts("2025-12-24T23:00:00Z")));
        assert!(!h.is_open(ts("2025-12-25T01:00:00Z")));
        // Dec 25 22:00 does not open (holiday); its tail on Dec 26 does, from midnight.
        assert!(!h.is_open(ts("2025-12-25T23:00:00Z")));
        assert!(h.is_open(ts("2025-12-26T01:00:00Z")));
        assert_eq!(
            h.next_open(ts("2025-12-25T01:00:00Z")),
            Some(ts("2025-12-26T00:00:00Z"))
        );
    }

    #[test]
    fn always_open_with_holidays_reopens_at_midnight() {
        let h = BusinessHours::new("UTC", vec![], vec![date(2025, 1, 1)]).unwrap();
        assert!(h.is_open(ts("2024-12-31T23:59:59Z")));
        assert!(!h.is_open(ts("2025-01-01T12:00:00Z")));
        assert_eq!(
            h.next_open(ts("2025-01-01T12:00:00Z")),
            Some(ts("2025-01-02T00:00:00Z"))
        );
        assert!(BusinessHours::always_open().is_open(ts("2025-01-01T12:00:00Z")));
    }

    #[test]
    fn paris_opening_after_spring_forward_is_utc_plus_two() {
        // DST starts Sunday 2025-03-30 in Paris; Monday 09:00 is CEST = 07:00 UTC.
        let h = paris_office();
        let friday_evening = ts("2025-03-28T19:00:00Z");
        assert_eq!(
            h.next_open(friday_evening),
            Some(ts("2025-03-31T07:00:00Z"))
        );
        assert!(!h.is_open(ts("2025-03-31T06:59:59Z")));
        assert!(h.is_open(ts("2025-03-31T07:00:00Z")));
        assert_eq!(
            h.describe_next_open(friday_evening).as_deref(),
            Some("Monday 09:00 CEST")
        );
    }

    #[test]
    fn paris_opening_after_fall_back_is_utc_plus_one() {
        // DST ends Sunday 2025-10-26 in Paris; Monday 09:00 is CET = 08:00 UTC.
        let h = paris_office();
        assert_eq!(
            h.next_open(ts("2025-10-24T19:00:00Z")),
            Some(ts("2025-10-27T08:00:00Z"))
        );
        assert!(!h.is_open(ts("2025-10-27T07:30:00Z")));
    }

    #[test]
    fn us_pacific_alias_follows_both_dst_changes() {
        let h = BusinessHours::new(
            "US/Pacific",
            vec![range("1,2,3,4,5", "09:00", "17:00")],
            vec![],
        )
        .unwrap();
        assert_eq!(h.timezone_name(), "US/Pacific");
        // Spring forward Sunday 2025-03-09: Monday 09:00 PDT = 16:00 UTC.
        assert_eq!(
            h.next_open(ts("2025-03-08T20:00:00Z")),
            Some(ts("2025-03-10T16:00:00Z"))
        );
        // Fall back Sunday 2025-11-02: Monday 09:00 PST = 17:00 UTC.
        assert_eq!(
            h.next_open(ts("2025-11-01T20:00:00Z")),
            Some(ts("2025-11-03T17:00:00Z"))
        );
        assert_eq!(
            h.describe_next_open(ts("2025-11-01T20:00:00Z")).as_deref(),
            Some("Monday 09:00 PST")
        );
    }

    #[test]
    fn range_starting_in_the_spring_forward_gap_opens_when_the_clock_jumps() {
        // US/Pacific 2025-03-09: 02:00 PST jumps to 03:00 PDT at 10:00 UTC.
        let h =
            BusinessHours::new("US/Pacific", vec![range("sun", "02:30", "05:00")], vec![]).unwrap();
        assert_eq!(
            h.next_open(ts("2025-03-09T08:00:00Z")),
            Some(ts("2025-03-09T10:00:00Z"))
        );
    }

    #[test]
    fn range_starting_in_the_fall_back_fold_reopens_on_the_repeat() {
        // US/Pacific 2025-11-02: 01:00-02:00 happens twice (08:00-09:00 PDT, 09:00-10:00 PST).
        let h =
            BusinessHours::new("US/Pacific", vec![range("sun", "01:30", "01:45")], vec![]).unwrap();
        assert!(h.is_open(ts("2025-11-02T08:30:00Z")));
        // After the first 01:45 the repeated 01:30 opens again.
        assert_eq!(
            h.next_open(ts("2025-11-02T08:50:00Z")),
            Some(ts("2025-11-02T09:30:00Z"))
        );
    }

    #[test]
    fn friday_evening_in_paris_winter_describes_monday_cet() {
        let h = paris_office();
        // Friday 2025-01-17 20:00 Paris.
        assert_eq!(
            h.describe_next_open(ts("2025-01-17T19:00:00Z")).as_deref(),
            Some("Monday 09:00 CET")
        );
        // Open now: nothing to describe.
        assert_eq!(h.describe_next_open(ts("2025-01-17T10:00:00Z")), None);
    }

    #[test]
    fn far_openings_name_the_date() {
        let h = BusinessHours::new(
            "Europe/Paris",
            vec![range("mon-fri", "09:00", "18:00")],
            (22..=31).map(|d| date(2025, 12, d)).collect(),
        )
        .unwrap();
        assert_eq!(
            h.describe_next_open(ts("2025-12-19T19:00:00Z")).as_deref(),
            Some("Thursday 1 January 09:00 CET")
        );
    }

    #[test]
    fn friday_evening_in_paris_describes_monday_in_each_language_across_the_weekend() {
        let h = paris_office();
        // Friday 2025-01-17 20:00 Paris (winter): next open Monday 09:00 CET.
        let friday = ts("2025-01-17T19:00:00Z");
        let cases = [
            (None, "Monday 09:00 CET"),
            (Some("en"), "Monday 09:00 CET"),
            (Some("fr"), "lundi à 09:00 CET"),
            (Some("fr-FR"), "lundi à 09:00 CET"),
            (Some("DE"), "am Montag um 09:00 CET"),
            (Some("es_MX"), "el lunes a las 09:00 CET"),
            (Some("it"), "lunedì alle 09:00 CET"),
            (Some("nl"), "maandag om 09:00 CET"),
            (Some("pt-BR"), "segunda-feira às 09:00 CET"),
            // No words for Swedish (or a malformed tag): English, as before.
            (Some("sv"), "Monday 09:00 CET"),
            (Some("fra"), "Monday 09:00 CET"),
        ];
        for (lang, want) in cases {
            assert_eq!(
                h.describe_next_open_in(friday, lang).as_deref(),
                Some(want),
                "{lang:?}"
            );
        }
        // Saturday and Sunday too: the next opening is still Monday, never "tomorrow".
        for weekend in ["2025-01-18T12:00:00Z", "2025-01-19T22:00:00Z"] {
            assert_eq!(
                h.describe_next_open_in(ts(weekend), Some("fr")).as_deref(),
                Some("lundi à 09:00 CET")
            );
        }
        // Thursday evening: Friday.
        assert_eq!(
            h.describe_next_open_in(ts("2025-01-16T19:00:00Z"), Some("de"))
                .as_deref(),
            Some("am Freitag um 09:00 CET")
        );
        assert_eq!(
            h.describe_next_open_in(ts("2025-01-17T10:00:00Z"), Some("fr")),
            None
        );
    }

    #[test]
    fn localised_opening_after_the_paris_dst_change_names_cest_then_cet() {
        let h = paris_office();
        // Spring forward Sunday 2025-03-30: from Friday evening (CET) to Monday 09:00 CEST.
        let spring = ts("2025-03-28T19:00:00Z");
        assert_eq!(
            h.describe_next_open_in(spring, Some("fr")).as_deref(),
            Some("lundi à 09:00 CEST")
        );
        assert_eq!(
            h.describe_next_open_in(spring, Some("de")).as_deref(),
            Some("am Montag um 09:00 CEST")
        );
        assert_eq!(
            h.describe_next_open_in(spring, Some("es")).as_deref(),
            Some("el lunes a las 09:00 CEST")
        );
        // Fall back Sunday 2025-10-26: from Friday evening (CEST) to Monday 09:00 CET. The wall
        // time stays 09:00 although the UTC instant moved by an hour.
        let fall = ts("2025-10-24T19:00:00Z");
        let local = h.next_open_local(fall).expect("opens");
        assert_eq!((local.days_ahead, local.zone.as_str()), (3, "CET"));
        assert_eq!(
            h.describe_next_open_in(fall, Some("fr")).as_deref(),
            Some("lundi à 09:00 CET")
        );
        assert_eq!(
            h.describe_next_open_in(fall, Some("de")).as_deref(),
            Some("am Montag um 09:00 CET")
        );
        assert_eq!(
            h.describe_next_open_in(fall, Some("es")).as_deref(),
            Some("el lunes a las 09:00 CET")
        );
    }

    #[test]
    fn far_localised_openings_name_the_date_in_the_language() {
        let h = BusinessHours::new(
            "Europe/Paris",
            vec![range("mon-fri", "09:00", "18:00")],
            (22..=31).map(|d| date(2025, 12, d)).collect(),
        )
        .unwrap();
        let before_christmas = ts("2025-12-19T19:00:00Z");
        let cases = [
            ("en", "Thursday 1 January 09:00 CET"),
            ("fr", "jeudi 1er janvier à 09:00 CET"),
            ("de", "am Donnerstag, 1. Januar um 09:00 CET"),
            ("es", "el jueves 1 de enero a las 09:00 CET"),
            ("it", "giovedì 1 gennaio alle 09:00 CET"),
            ("nl", "donderdag 1 januari om 09:00 CET"),
            ("pt", "quinta-feira, 1 de janeiro, às 09:00 CET"),
        ];
        for (lang, want) in cases {
            assert_eq!(
                h.describe_next_open_in(before_christmas, Some(lang))
                    .as_deref(),
                Some(want),
                "{lang}"
            );
        }
        // "1er" is the first of the month only.
        let h = BusinessHours::new(
            "Europe/Paris",
            vec![range("mon-fri", "09:00", "18:00")],
            (2..=13).map(|d| date(2026, 3, d)).collect(),
        )
        .unwrap();
        assert_eq!(
            h.describe_next_open_in(ts("2026-02-27T19:00:00Z"), Some("fr"))
                .as_deref(),
            Some("lundi 16 mars à 09:00 CET")
        );
    }

    #[test]
    fn numeric_abbreviations_get_a_utc_prefix() {
        let h = BusinessHours::new(
            "America/Sao_Paulo",
            vec![range("mon-fri", "09:00", "18:00")],
            vec![],
        )
        .unwrap();
        assert_eq!(
            h.describe_next_open(ts("2025-01-17T23:00:00Z")).as_deref(),
            Some("Monday 09:00 UTC-03")
        );
    }

    #[test]
    fn never_opening_hours_have_no_next_open() {
        let h = BusinessHours::new(
            "UTC",
            vec![HoursRange {
                days: [false; 7],
                from: time(9, 0, 0, 0),
                to: None,
            }],
            vec![],
        )
        .unwrap();
        assert!(!h.is_open(ts("2025-01-15T10:00:00Z")));
        assert_eq!(h.next_open(ts("2025-01-15T10:00:00Z")), None);
    }

    #[test]
    fn empty_gorgias_list_is_always_open_but_holidays_still_close() {
        let setting = BusinessHoursSetting {
            timezone: "US/Pacific".into(),
            business_hours: vec![],
        };
        let h = BusinessHours::from_gorgias(&setting, vec![date(2025, 7, 4)]).unwrap();
        assert!(h.is_always_open());
        assert!(h.is_open(ts("2025-07-03T12:00:00Z")));
        // 2025-07-04 12:00 Pacific.
        assert!(!h.is_open(ts("2025-07-04T19:00:00Z")));
    }

    #[test]
    fn gorgias_setting_ranges_parse_and_apply() {
        let setting = BusinessHoursSetting {
            timezone: "US/Pacific".into(),
            business_hours: vec![BusinessHoursRange {
                days: "1,2,3,4,5".into(),
                from_time: "09:00".into(),
                to_time: "18:00".into(),
            }],
        };
        let h = BusinessHours::from_gorgias(&setting, vec![]).unwrap();
        // Wednesday 2025-01-15 10:00 PST = 18:00 UTC.
        assert!(h.is_open(ts("2025-01-15T18:00:00Z")));
        assert!(!h.is_open(ts("2025-01-15T16:59:00Z")));
    }

    #[test]
    fn gorgias_setting_errors_name_the_range_and_bad_zone() {
        let mut setting = BusinessHoursSetting {
            timezone: "Mars/Olympus".into(),
            business_hours: vec![],
        };
        let err = BusinessHours::from_gorgias(&setting, vec![]).unwrap_err();
        assert!(err.contains("Mars/Olympus"), "{err}");
        setting.timezone = "UTC".into();
        setting.business_hours.push(BusinessHoursRange {
            days: "1,9".into(),
            from_time: "09:00".into(),
            to_time: "18:00".into(),
        });
        let err = BusinessHours::from_gorgias(&setting, vec![]).unwrap_err();
        assert!(err.contains("range 1") && err.contains("\"9\""), "{err}");
    }

    #[test]
    fn parse_days_accepts_every_form() {
        let weekdays = [true, true, true, true, true, false, false];
        assert_eq!(parse_days("1,2,3,4,5").unwrap(), weekdays);
        assert_eq!(parse_days("mon-fri").unwrap(), weekdays);
        assert_eq!(parse_days("1-5").unwrap(), weekdays);
        assert_eq!(parse_days("Weekdays").unwrap(), weekdays);
        assert_eq!(
            parse_days("mon, wed,FRI").unwrap(),
            [true, false, true, false, true, false, false]
        );
        assert_eq!(
            parse_days("sat").unwrap(),
            [false, false, false, false, false, true, false]
        );
        assert_eq!(
            parse_days("7").unwrap(),
            [false, false, false, false, false, false, true]
        );
        assert_eq!(
            parse_days("fri-mon").unwrap(),
            [true, false, false, false, true, true, true]
        );
        assert_eq!(parse_days("daily").unwrap(), [true; 7]);
    }

    #[test]
    fn parse_days_rejects_unknown_days() {
        for bad in ["8", "0", "funday", "", "mon-", "1,,2"] {
            assert!(parse_days(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(parse_days("funday").unwrap_err().contains("funday"));
    }

    #[test]
    fn parse_hhmm_accepts_times_and_rejects_junk() {
        assert_eq!(parse_hhmm("09:00").unwrap(), time(9, 0, 0, 0));
        assert_eq!(parse_hhmm("9:30").unwrap(), time(9, 30, 0, 0));
        assert_eq!(parse_hhmm("17:45:00").unwrap(), time(17, 45, 0, 0));
        assert_eq!(parse_end_hhmm("24:00").unwrap(), None);
        assert_eq!(parse_end_hhmm("00:00").unwrap(), Some(time(0, 0, 0, 0)));
        assert!(parse_hhmm("24:00").unwrap_err().contains("end time"));
        for bad in [
            "25:00",
            "12:60",
            "9",
            "9am",
            "12:5",
            "24:01",
            "-1:00",
            "12:00:00:00",
        ] {
            assert!(parse_end_hhmm(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn from_equal_to_is_a_full_day() {
        let h = BusinessHours::new("UTC", vec![range("mon", "00:00", "00:00")], vec![]).unwrap();
        assert!(h.is_open(ts("2025-01-13T00:00:00Z")));
        assert!(h.is_open(ts("2025-01-13T23:59:59Z")));
        assert!(!h.is_open(ts("2025-01-14T00:00:00Z")));
    }
}
