//! `edl-core`: the whole logic of the EDL electronic driving licence wallet.
