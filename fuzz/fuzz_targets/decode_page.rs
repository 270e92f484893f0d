//! Decoding a list page (`{"data":[..],"meta":{..}}` or a bare array) and an error body from
//! arbitrary bytes, as the client does: a page or a non-empty message, never a panic; a next
//! page always carries a cursor.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perfectbot::gorgias::decode::{error_message, parse_business_hours, parse_page};
use perfectbot::gorgias::{Ticket, View};

fuzz_target!(|data: &[u8]| {
    match parse_page::<Ticket>(data) {
        Ok(page) => {
            if let Some(next) = page.next {
                assert!(!next.cursor.is_empty(), "a next page with an empty cursor");
            }
        }
        Err(e) => assert!(!e.is_empty(), "a page error with no message"),
    }
    if let Err(e) = parse_page::<View>(data) {
        assert!(!e.is_empty());
    }
    for status in [400, 404, 409, 429, 500] {
        let msg = error_message(status, data);
        // Empty only for an empty body; otherwise the caller shows it as the reason.
        assert!(
            !msg.is_empty() || String::from_utf8_lossy(data).trim().is_empty(),
            "no message for a non-empty {status} body"
        );
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data)
        && let Err(e) = parse_business_hours(v)
    {
        assert!(!e.is_empty());
    }
});
