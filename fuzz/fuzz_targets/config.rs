//! The config text parser on arbitrary UTF-8: it must answer with a `Config` or with errors,
//! every one of which names the file, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The daemon reads secrets from the environment; give every variable a value so that the
    // fuzzer reaches validation past the API key instead of stopping at "no key".
    let env = |name: &str| match name {
        // No credentials directory: it would make the loader read files named by the input.
        "CREDENTIALS_DIRECTORY" | "STATE_DIRECTORY" => None,
        _ => Some("fuzz-key".to_string()),
    };
    match perfectbot::config::parse_str("fuzz.toml", text, &env) {
        Ok(config) => {
            // What `perfectbot check` prints: must not panic either.
            let _ = config.summary();
            let _ = config.notes();
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "an error list with no error");
            for line in &errors.0 {
                assert!(
                    line.starts_with("fuzz.toml"),
                    "an error that does not name the file: {line:?}"
                );
            }
            assert!(!errors.to_string().trim().is_empty());
        }
    }
});
