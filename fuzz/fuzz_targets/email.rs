//! Email extraction on arbitrary UTF-8: `None` or an address that passes our own validation,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perfectbot::responder::email::{extract_email, is_valid_email};

fuzz_target!(|text: &str| {
    if let Some(found) = extract_email(text) {
        assert!(is_valid_email(&found), "extracted an invalid address {found:?}");
        // What was extracted is found again as itself.
        assert_eq!(extract_email(&found).as_deref(), Some(found.as_str()));
    }
    let _ = is_valid_email(text);
});
