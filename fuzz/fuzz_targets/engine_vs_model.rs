#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| roomcore_testkit::fuzz::engine_vs_model(data));
