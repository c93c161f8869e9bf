#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| roomcore::fuzz::engine_vs_model(data));
