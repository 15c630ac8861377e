#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| corrigo_fuzz::feetech_packet(data));
