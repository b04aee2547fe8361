//! `edl-ffi`: the thin UniFFI layer over `edl-core` (filled by the bindings issue).
