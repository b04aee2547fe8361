#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| edl_fuzz::photo_check(data));
