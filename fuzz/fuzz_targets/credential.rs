#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| edl_fuzz::credential(data));
