//! Decoding one ticket (and the other single-object responses) from arbitrary bytes, as the
//! client does for `GET /api/tickets/{id}`: a value or a serde error with a message, never a
//! panic; what decodes survives a serialize/decode round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perfectbot::gorgias::{Message, Ticket, User, View};

fuzz_target!(|data: &[u8]| {
    match serde_json::from_slice::<Ticket>(data) {
        Ok(ticket) => {
            let _ = ticket.is_open();
            for m in &ticket.messages {
                let _ = m.text();
            }
            let again = serde_json::to_vec(&ticket).expect("a decoded ticket serializes");
            let back: Ticket = serde_json::from_slice(&again).expect("a serialized ticket decodes");
            assert_eq!(back, ticket, "ticket round trip changed it");
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    if let Err(e) = serde_json::from_slice::<Message>(data) {
        assert!(!e.to_string().is_empty());
    }
    let _ = serde_json::from_slice::<User>(data);
    let _ = serde_json::from_slice::<View>(data);
});
