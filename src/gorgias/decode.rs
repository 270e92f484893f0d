//! The shapes of Gorgias responses that need more than a plain `serde` derive: cursor pages (both
//! `meta.next_cursor` and `meta.next_items` styles), error bodies, and the business-hours setting
//! in its several observed shapes. Pure functions over bytes and JSON; no I/O.

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use super::model::BusinessHoursSetting;

/// One page of a cursor list, reduced to what paging needs.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The cursor of the next page and, for `next_items` style, the other paging parameters
    /// it carried (e.g. `direction=next`) that must be sent along; `None` = last page.
    pub next: Option<NextPage>,
    /// Items that did not decode; the others are served all the same.
    pub skipped: Vec<SkippedItem>,
    /// Items beyond [`MAX_PAGE_ITEMS`], ignored unread.
    pub ignored: usize,
}

/// An item of a list that did not decode (a lone surrogate in a string, a malformed datetime):
/// skipped, so one bad ticket never hides the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedItem {
    /// Its `id`, when that much could be read.
    pub id: Option<u64>,
    /// Its `updated_datetime` exactly as sent, when present: what changes once it is edited.
    pub version: Option<String>,
    /// Why it did not decode (serde's message).
    pub error: String,
}

/// The most items read from one page: we ask for [`super::client::PAGE_LIMIT`]; a server that
/// sends a million `{}` must not turn 20 MB of text into gigabytes of structs.
pub const MAX_PAGE_ITEMS: usize = 1_000;

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextPage {
    pub cursor: String,
    pub extra: Vec<(String, String)>,
}

/// The envelope, with every item left as raw text to be decoded on its own (`RawValue` does
/// not validate what it skips, so a lone surrogate in one item cannot fail the page).
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(borrow, default)]
    meta: Option<&'a RawValue>,
}

/// At most [`MAX_PAGE_ITEMS`] raw items of a JSON array, and how many more were skipped.
struct RawItems<'a> {
    items: Vec<&'a RawValue>,
    ignored: usize,
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for RawItems<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = RawItems<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawItems<'a>, A::Error> {
                let mut out = RawItems {
                    items: Vec::new(),
                    ignored: 0,
                };
                loop {
                    if out.items.len() < MAX_PAGE_ITEMS {
                        match seq.next_element::<&'de RawValue>()? {
                            Some(r) => out.items.push(r),
                            None => return Ok(out),
                        }
                    } else {
                        match seq.next_element::<serde::de::IgnoredAny>()? {
                            Some(_) => out.ignored += 1,
                            None => return Ok(out),
                        }
                    }
                }
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

/// What can still be read of an item that did not decode.
#[derive(serde::Deserialize)]
struct ItemStub<'a> {
    #[serde(default)]
    id: Option<u64>,
    #[serde(borrow, default)]
    updated_datetime: Option<&'a RawValue>,
}

/// Parse a list response: the envelope `{"data":[..],"meta":{..}}` or, leniently, a bare array
/// (one page, nothing after it). Each item is decoded on its own: one that does not decode is
/// reported in `skipped` and the rest are served. Errors (the page itself is unreadable) are
/// serde's message or a description of the problem.
pub fn parse_page<T: DeserializeOwned>(bytes: &[u8]) -> Result<Page<T>, String> {
    let raw: &RawValue = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let text = raw.get();
    let (data, meta) = match text.as_bytes().first() {
        Some(b'[') => (raw, None),
        Some(b'{') => {
            let env: Envelope<'_> = serde_json::from_str(text).map_err(|e| e.to_string())?;
            (env.data.unwrap_or(empty_list()), env.meta)
        }
        _ => {
            let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
            return Err(format!("expected a list envelope, found {}", kind_of(&v)));
        }
    };
    if !data.get().starts_with('[') {
        let kind = serde_json::from_str::<Value>(data.get())
            .map(|v| kind_of(&v))
            .unwrap_or("something unreadable");
        return Err(format!("expected a list in \"data\", found {kind}"));
    }
    let raw_items: RawItems<'_> = serde_json::from_str(data.get()).map_err(|e| e.to_string())?;
    let mut items = Vec::with_capacity(raw_items.items.len());
    let mut skipped = Vec::new();
    for item in raw_items.items {
        match serde_json::from_str::<T>(item.get()) {
            Ok(v) => items.push(v),
            Err(e) => {
                let stub = serde_json::from_str::<ItemStub<'_>>(item.get()).ok();
                skipped.push(SkippedItem {
                    id: stub.as_ref().and_then(|s| s.id),
                    version: stub
                        .and_then(|s| s.updated_datetime)
                        .map(|r| truncate(r.get(), 64)),
                    error: e.to_string(),
                });
            }
        }
    }
    let next = match meta {
        Some(m) => {
            let meta: Value = serde_json::from_str(m.get())
                .map_err(|e| format!("\"meta\" is unreadable: {e}"))?;
            next_page(&meta)?
        }
        None => None,
    };
    Ok(Page {
        items,
        next,
        skipped,
        ignored: raw_items.ignored,
    })
}

fn empty_list() -> &'static RawValue {
    static EMPTY: std::sync::OnceLock<Box<RawValue>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| RawValue::from_string("[]".to_owned()).expect("valid JSON"))
}

/// `meta.next_cursor` wins; otherwise the cursor inside `meta.next_items`, a relative URL like
/// `/api/views/3/items?cursor=abc&direction=next`. Null or empty = last page.
fn next_page(meta: &Value) -> Result<Option<NextPage>, String> {
    if let Some(c) = meta.get("next_cursor").and_then(non_empty_str) {
        return Ok(Some(NextPage {
            cursor: c.to_owned(),
            extra: Vec::new(),
        }));
    }
    let Some(items_url) = meta.get("next_items").and_then(non_empty_str) else {
        return Ok(None);
    };
    let base = url::Url::parse("http://relative.invalid/").expect("a constant, valid URL");
    let url = base
        .join(items_url)
        .map_err(|e| format!("meta.next_items {items_url:?} is not a URL: {e}"))?;
    let mut cursor = None;
    let mut extra = Vec::new();
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "cursor" => cursor = Some(v.into_owned()),
            "direction" => extra.push((k.into_owned(), v.into_owned())),
            _ => {}
        }
    }
    match cursor.filter(|c| !c.is_empty()) {
        Some(cursor) => Ok(Some(NextPage { cursor, extra })),
        None => Err(format!("meta.next_items {items_url:?} has no cursor")),
    }
}

fn non_empty_str(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.is_empty())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The message to report for an error response: Gorgias's `error.msg` (plus a compact
/// `error.data` when present), a hint when a 404 is not JSON (a wrong subdomain answers with an
/// HTML page), or the start of any other body.
pub fn error_message(status: u16, bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.trim().is_empty() {
        return String::new();
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => {
            let msg = v
                .pointer("/error/msg")
                .or_else(|| v.get("msg"))
                .or_else(|| v.get("message"))
                .and_then(Value::as_str);
            match (msg, v.pointer("/error/data").filter(|d| !d.is_null())) {
                (Some(m), Some(d)) => format!("{m} {}", truncate(&d.to_string(), 300)),
                (Some(m), None) => m.to_owned(),
                (None, _) => truncate(&v.to_string(), 300),
            }
        }
        Err(_) if status == 404 => "not JSON: is base_url right?".to_owned(),
        Err(_) => format!("not JSON: {}", truncate(text.trim(), 200)),
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// The business-hours setting from `GET /api/account/settings?type=business-hours`, in any of
/// the shapes seen: a bare array of settings, an envelope `{"data":[..]}`, a single setting
/// object, or the setting's data alone; inside, `business_hours` may be a list or (older accounts)
/// one object. Settings of another `type` are skipped. `None` = the account has no such setting.
pub fn parse_business_hours(v: Value) -> Result<Option<BusinessHoursSetting>, String> {
    for candidate in setting_candidates(v) {
        if let Some(t) = candidate.get("type").and_then(Value::as_str)
            && t != "business-hours"
        {
            continue;
        }
        let mut data = match candidate {
            Value::Object(mut o) if !is_setting_data(&Value::Object(o.clone())) => {
                o.remove("data").unwrap_or(Value::Null)
            }
            other => other,
        };
        if !data.is_object() {
            continue;
        }
        if let Some(bh) = data.get_mut("business_hours") {
            match bh {
                Value::Object(_) => *bh = Value::Array(vec![bh.take()]),
                Value::Null => *bh = Value::Array(Vec::new()),
                _ => {}
            }
        }
        return serde_json::from_value(data)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    Ok(None)
}

fn is_setting_data(v: &Value) -> bool {
    v.get("timezone").is_some() || v.get("business_hours").is_some()
}

fn setting_candidates(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        Value::Object(mut o) => {
            let obj_view = Value::Object(o.clone());
            if is_setting_data(&obj_view) || o.contains_key("type") {
                return vec![obj_view];
            }
            match o.remove("data") {
                Some(Value::Array(a)) => a,
                // `{"data": {...}}` is either an envelope around one setting or a setting
                // without `type`: both are handled by the candidate loop.
                Some(d @ Value::Object(_)) => vec![d],
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn page_reads_next_cursor_and_next_items() {
        let p: Page<Value> =
            parse_page(br#"{"object":"list","data":[1,2],"meta":{"next_cursor":"c2"}}"#).unwrap();
        assert_eq!(p.items.len(), 2);
        assert_eq!(
            p.next,
            Some(NextPage {
                cursor: "c2".into(),
                extra: vec![]
            })
        );
        let p: Page<Value> = parse_page(
            br#"{"data":[],"meta":{"next_cursor":null,"next_items":"/api/views/3/items?cursor=ab%3D&direction=next&limit=100"}}"#,
        )
        .unwrap();
        assert_eq!(
            p.next,
            Some(NextPage {
                cursor: "ab=".into(),
                extra: vec![("direction".into(), "next".into())]
            })
        );
        let p: Page<Value> =
            parse_page(br#"{"data":[3],"meta":{"next_cursor":null,"next_items":null}}"#).unwrap();
        assert_eq!(p.next, None);
        let p: Page<Value> = parse_page(br#"[1,2,3]"#).unwrap();
        assert_eq!((p.items.len(), p.next), (3, None));
        assert!(parse_page::<Value>(br#"{"data":{"x":1}}"#).is_err());
        assert!(
            parse_page::<Value>(br#"{"data":[],"meta":{"next_items":"/x?direction=next"}}"#)
                .is_err()
        );
    }

    #[test]
    fn one_bad_item_is_skipped_with_its_id_and_the_rest_is_served() {
        use crate::gorgias::Ticket;
        let body = br#"{"data":[
            {"id":1,"status":"open","updated_datetime":"2024-01-01T00:00:00Z"},
            {"id":2,"status":"open","excerpt":"broken \ud800 emoji","updated_datetime":"2024-01-02T00:00:00Z"},
            {"id":3,"status":"open","created_datetime":"yesterday-ish","updated_datetime":"2024-01-03T00:00:00Z"},
            {"id":"four","status":"open"},
            {"id":5,"status":"open"}
        ],"meta":{"next_cursor":"c2"}}"#;
        let p: Page<Ticket> = parse_page(body).unwrap();
        assert_eq!(p.items.iter().map(|t| t.id).collect::<Vec<_>>(), vec![1, 5]);
        assert_eq!(p.next.unwrap().cursor, "c2");
        let ids: Vec<_> = p.skipped.iter().map(|s| s.id).collect();
        assert_eq!(ids, vec![Some(2), Some(3), None]);
        assert_eq!(
            p.skipped[0].version.as_deref(),
            Some("\"2024-01-02T00:00:00Z\"")
        );
        let e = &p.skipped[0].error;
        assert!(e.contains("surrogate") || e.contains("escape"), "{e}");
        assert!(
            p.skipped[1].error.contains("yesterday-ish"),
            "{:?}",
            p.skipped[1]
        );
        // A bare array is decoded item by item too.
        let p: Page<Ticket> = parse_page(br#"[{"id":7},{"id":8,"subject":"\udc00"}]"#).unwrap();
        assert_eq!((p.items.len(), p.skipped.len()), (1, 1));
    }

    #[test]
    fn a_page_of_a_million_items_reads_only_the_first_thousand() {
        let mut body = String::from("{\"data\":[");
        body.push_str(&vec!["{}"; 1_000_000].join(","));
        body.push_str("],\"meta\":{}}");
        let p: Page<crate::gorgias::Ticket> = parse_page(body.as_bytes()).unwrap();
        assert_eq!(p.items.len(), MAX_PAGE_ITEMS);
        assert_eq!(p.ignored, 1_000_000 - MAX_PAGE_ITEMS);
        assert!(p.next.is_none());
    }

    #[test]
    fn error_message_prefers_gorgias_msg_and_hints_at_html_404() {
        assert_eq!(
            error_message(401, br#"{"error":{"msg":"Unauthorized."}}"#),
            "Unauthorized."
        );
        assert_eq!(
            error_message(
                400,
                br#"{"error":{"msg":"Bad","data":{"email":["taken"]}}}"#
            ),
            r#"Bad {"email":["taken"]}"#
        );
        assert_eq!(
            error_message(404, b"<html>nope</html>"),
            "not JSON: is base_url right?"
        );
        assert_eq!(
            error_message(502, b"<html>bad gateway</html>"),
            "not JSON: <html>bad gateway</html>"
        );
        assert_eq!(error_message(500, b""), "");
    }

    #[test]
    fn business_hours_accepts_every_shape() {
        let data = json!({"timezone": "US/Pacific",
                          "business_hours": [{"days": "1,2,3,4,5", "from_time": "09:00", "to_time": "18:00"}]});
        let setting = json!({"id": 1, "type": "business-hours", "data": data});
        let expected = serde_json::from_value::<BusinessHoursSetting>(data.clone()).unwrap();
        assert_eq!(expected.business_hours.len(), 1);
        let shapes = [
            json!([setting]),
            json!([{"type": "other", "data": {}}, setting]),
            json!({"data": [setting]}),
            json!({"object": "list", "data": [setting], "meta": {}}),
            setting.clone(),
            json!({"data": setting}),
            data.clone(),
            json!({"type": "business-hours", "data": {"timezone": "US/Pacific",
                   "business_hours": {"days": "1,2,3,4,5", "from_time": "09:00", "to_time": "18:00"}}}),
        ];
        for shape in shapes {
            assert_eq!(
                parse_business_hours(shape.clone()).unwrap().as_ref(),
                Some(&expected),
                "{shape}"
            );
        }
        let always_open = parse_business_hours(
            json!([{"type": "business-hours", "data": {"timezone": "UTC", "business_hours": []}}]),
        )
        .unwrap()
        .unwrap();
        assert!(always_open.business_hours.is_empty());
        assert_eq!(parse_business_hours(json!([])).unwrap(), None);
        assert_eq!(parse_business_hours(json!({"data": []})).unwrap(), None);
        assert_eq!(
            parse_business_hours(json!([{"type": "other", "data": {}}])).unwrap(),
            None
        );
    }
}
