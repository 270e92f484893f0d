//! The file as written. Values that need a good message (durations, enums, dates) stay
//! strings here and are checked by the validator. Reading never fails on a value's type: each
//! table is read into its `Wire…` twin, where every value is kept whatever its type ([`Val`],
//! [`Table`], [`List`]), then [`Lenient::check`] turns it into the struct the validator reads,
//! recording every value of the wrong type with its key, so one pass names them all. Unknown
//! keys are not refused here either: the validator reports them all at once (`serde_ignored`).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, DeserializeOwned, Deserializer, Unexpected, Visitor};

/// A struct the validator reads (every key a plain value), its `Wire` twin that reads the file
/// without failing on a value's type, and the [`Lenient`] impl between them: each key's
/// wrong-typed value is recorded under its path and read as absent.
macro_rules! raw_tables {
    ($(
        $(#[$meta:meta])*
        $name:ident / $wire:ident {
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty ),* $(,)?
        }
    )*) => {$(
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub(super) struct $name {
            $( $(#[$field_meta])* pub(super) $field: $ty, )*
        }

        #[derive(Default, serde::Deserialize)]
        #[serde(default)]
        pub(super) struct $wire {
            $( $field: <$ty as Lenient>::Wire, )*
        }

        impl Lenient for $name {
            type Wire = Table<$wire>;
            fn check(wire: Self::Wire, path: &str, wrong: &mut Vec<String>) -> Self {
                let wire = record(wire.0, path, wrong).unwrap_or_default();
                $name {
                    $( $field: Lenient::check(
                        wire.$field,
                        &key_path(path, stringify!($field)),
                        wrong,
                    ), )*
                }
            }
        }
    )*};
}

/// A value of the raw structs read without ever failing on its type.
pub(super) trait Lenient: Sized {
    /// What is read from the file: the value, or what was written instead.
    type Wire: DeserializeOwned + Default;
    /// The value, or (when the file had the wrong type at `path`) its default with the problem
    /// recorded in `wrong` as "path: message".
    fn check(wire: Self::Wire, path: &str, wrong: &mut Vec<String>) -> Self;
}

/// How a key is named in messages: "gorgias.window".
pub(super) fn key_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// How an element of an array of tables is named in messages, counted from 1 as a reader
/// counts the `[[...]]` blocks: "business_hours.ranges[1]".
pub(super) fn element_path(parent: &str, index: usize) -> String {
    format!("{parent}[{}]", index + 1)
}

/// What reading one value gave: the value, or what was wrong with it (serde's words, made
/// plain).
type Read<T> = Result<T, String>;

/// The value read, or `None` with its problem recorded in `wrong` under `path`.
fn record<T>(read: Read<T>, path: &str, wrong: &mut Vec<String>) -> Option<T> {
    read.map_err(|why| wrong.push(format!("{path}: {why}")))
        .ok()
}

/// A plain value as written (a string, number, list of strings, free-form table).
pub(super) struct Val<T>(Read<T>);

/// A table (`[section]`), or what was written in its place.
pub(super) struct Table<T>(Read<T>);

/// An array of tables (`[[section.key]]`), or what was written in its place.
pub(super) struct List<T>(Read<Vec<T>>);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Val<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Any TOML value reads as a `toml::Value`; only then is its type checked.
        let value = toml::Value::deserialize(d)?;
        Ok(Val(value
            .try_into::<T>()
            .map_err(|e| plain_types(e.message().trim()))))
    }
}

macro_rules! leaves {
    ($($ty:ty),* $(,)?) => {$(
        impl Lenient for $ty {
            type Wire = Option<Val<$ty>>;
            fn check(wire: Self::Wire, path: &str, wrong: &mut Vec<String>) -> Self {
                wire.and_then(|v| record(v.0, path, wrong)).unwrap_or_default()
            }
        }
    )*};
}

leaves!(
    bool,
    Option<bool>,
    Option<String>,
    Option<u32>,
    Option<u64>,
    Option<usize>,
    Option<f64>,
    Option<Vec<String>>,
    Option<RawSize>,
    Vec<String>,
    Vec<toml::Value>,
    toml::Table,
);

impl<T: Default> Default for Table<T> {
    fn default() -> Self {
        Table(Ok(T::default()))
    }
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Ok(Vec::new()))
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Table<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Shape::<T>::new(Expect::Table)).map(Table)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Shape::<Vec<T>>::new(Expect::List))
            .map(List)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Expect {
    Table,
    List,
}

/// Reads a table or a list into `T` through the deserializer's own map or sequence (so unknown
/// keys inside are still seen by `serde_ignored`, with their paths), and anything else as the
/// message saying what was found instead.
struct Shape<T> {
    expect: Expect,
    _t: PhantomData<T>,
}

impl<T: DeserializeOwned> Shape<T> {
    fn new(expect: Expect) -> Self {
        Shape {
            expect,
            _t: PhantomData,
        }
    }

    fn wrong<E>(&self, found: Unexpected<'_>) -> Result<Result<T, String>, E> {
        Ok(Err(plain_types(
            &<de::value::Error as de::Error>::invalid_type(found, self).to_string(),
        )))
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Shape<T> {
    type Value = Result<T, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.expect {
            Expect::Table => "a table",
            Expect::List => "a list of tables",
        })
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        if self.expect == Expect::Table {
            return T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Ok);
        }
        while map.next_entry::<String, toml::Value>()?.is_some() {}
        self.wrong(Unexpected::Map)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if self.expect == Expect::List {
            return T::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Ok);
        }
        while seq.next_element::<toml::Value>()?.is_some() {}
        self.wrong(Unexpected::Seq)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.wrong(Unexpected::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.wrong(Unexpected::Signed(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.wrong(Unexpected::Unsigned(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.wrong(Unexpected::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.wrong(Unexpected::Str(v))
    }
}

impl Lenient for Option<RawOpenAi> {
    type Wire = Option<Table<WireOpenAi>>;
    fn check(wire: Self::Wire, path: &str, wrong: &mut Vec<String>) -> Self {
        let table = record(wire?.0, path, wrong)?;
        Some(RawOpenAi::check(Table(Ok(table)), path, wrong))
    }
}

/// `[[business_hours.ranges]]`: each element named by its place ([`element_path`], as the
/// range checks name them); one of the wrong type reads as an empty range, so the others keep
/// their places.
impl Lenient for Vec<RawRange> {
    type Wire = List<Table<WireRange>>;
    fn check(wire: Self::Wire, path: &str, wrong: &mut Vec<String>) -> Self {
        record(wire.0, path, wrong)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, item)| RawRange::check(item, &element_path(path, i), wrong))
            .collect()
    }
}

/// Serde's type names in words a user knows.
fn plain_types(message: &str) -> String {
    message
        .replace("expected u32", "expected a whole number")
        .replace("expected u64", "expected a whole number (0 or more)")
        .replace("expected f64", "expected a number")
        .replace(
            "expected a sequence",
            "expected a list, e.g. [\"a\", \"b\"]",
        )
}

raw_tables! {
    RawConfig / WireConfig {
        gorgias: RawGorgias,
        bot: RawBot,
        timing: RawTiming,
        ledger: RawLedger,
        responder: RawResponder,
        kb: RawKb,
        openai: Option<RawOpenAi>,
        handover: RawHandover,
        tags: RawTags,
        business_hours: RawBusinessHours,
        http: RawHttp,
        log: RawLog,
        orders: RawOrders,
    }

    RawOrders / WireOrders {
        enabled: bool,
        recent_window: Option<String>,
        late_after: Option<String>,
        number_wait: Option<String>,
        /// The default templates and `[orders.messages.LANG]` tables (see `Validator::orders`).
        messages: toml::Table,
    }

    RawGorgias / WireGorgias {
        base_url: Option<String>,
        email: Option<String>,
        api_key_file: Option<String>,
        bearer: bool,
        requests_per_window: Option<u32>,
        window: Option<String>,
        timeout: Option<String>,
        connect_timeout: Option<String>,
        max_body: Option<RawSize>,
        stall_timeout: Option<String>,
        allow_insecure_http: bool,
    }

    RawBot / WireBot {
        name: Option<String>,
        user_id: Option<u64>,
        channels: Option<Vec<String>>,
        mode: Option<String>,
        opt_out_tags: Vec<String>,
        handover_phrases: Vec<String>,
        frustration_phrases: Vec<String>,
    }

    RawTiming / WireTiming {
        poll_interval: Option<String>,
        sweep: Option<String>,
        close_after: Option<String>,
        email_wait: Option<String>,
        answer_deadline: Option<String>,
    }

    RawLedger / WireLedger {
        path: Option<String>,
    }

    RawResponder / WireResponder {
        kind: Option<String>,
    }

    RawKb / WireKb {
        dir: Option<String>,
        min_score: Option<f64>,
        confidence: Option<f64>,
        note_prefix: Option<String>,
        embedding: Option<String>,
        model2vec_dir: Option<String>,
        embedding_url: Option<String>,
        embedding_model: Option<String>,
        embedding_api_key_file: Option<String>,
        embedding_timeout: Option<String>,
        embedding_batch: Option<usize>,
        macros: Option<bool>,
        macro_name_prefix: Option<String>,
        macro_languages: Option<Vec<String>>,
        sites: Option<Vec<String>>,
        refresh: Option<String>,
        site_max_pages: Option<u64>,
        site_max_page_bytes: Option<u64>,
    }

    RawOpenAi / WireOpenAi {
        base_url: Option<String>,
        model: Option<String>,
        api_key_file: Option<String>,
        timeout: Option<String>,
        temperature: Option<f64>,
        max_tokens: Option<u32>,
        response_format: Option<String>,
        grounding_entries: Option<usize>,
        context_tokens: Option<usize>,
        max_answer_chars: Option<usize>,
        concurrency: Option<usize>,
        max_body_bytes: Option<usize>,
    }

    RawHandover / WireHandover {
        collect_email: Option<String>,
        assign_team_id: Option<u64>,
        assign_user_id: Option<u64>,
        /// The seven default templates and `[handover.messages.LANG]` tables, told apart (and
        /// checked key by key) in `Validator::messages`: serde cannot mix fixed keys with a map.
        messages: toml::Table,
    }

    RawTags / WireTags {
        agent_required: Option<String>,
        agent_check: Option<String>,
        handled: Option<String>,
        not_involved: Option<String>,
        auto_closed: Option<String>,
        preview: Option<String>,
    }

    RawBusinessHours / WireBusinessHours {
        source: Option<String>,
        timezone: Option<String>,
        /// Strings or bare TOML dates (`2025-12-25` unquoted is valid TOML).
        holidays: Vec<toml::Value>,
        ranges: Vec<RawRange>,
    }

    RawRange / WireRange {
        days: Option<String>,
        from: Option<String>,
        to: Option<String>,
    }

    RawHttp / WireHttp {
        listen: Option<String>,
        webhook_secret_file: Option<String>,
    }

    RawLog / WireLog {
        format: Option<String>,
        filter: Option<String>,
    }
}

/// A size in bytes: a number, or a string such as "20MB" or "512KiB".
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub(super) enum RawSize {
    Bytes(u64),
    Text(String),
}
