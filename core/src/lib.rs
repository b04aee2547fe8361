//! `edl-core`: the whole logic of the EDL electronic driving licence wallet.
//!
//! The protocol modules (`licence`, `codec`, `credential`, `present`, `verify`, `wire`,
//! `crypto`) do no I/O: time and randomness are passed in, so they run the same in the
//! driver's wallet, a verifier's app and the authority.

#![warn(missing_docs)]

pub mod codec;
pub mod credential;
pub mod crypto;
pub mod display;
pub mod licence;
#[cfg(feature = "net")]
pub mod net;
#[cfg(feature = "photo")]
pub mod photo;
pub mod present;
#[cfg(any(test, feature = "test-support"))]
pub mod sample;
#[cfg(any(test, feature = "test-support"))]
pub mod vectors;
pub mod verify;
#[cfg(feature = "wallet")]
pub mod wallet;
pub mod wire;
