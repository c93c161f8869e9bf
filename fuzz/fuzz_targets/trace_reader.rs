#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| roomcore_testkit::fuzz::trace_reader(data));
