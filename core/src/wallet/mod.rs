//! The driver's wallet: the part of the core that touches disk (and, later, the network).
//!
//! - [`store`]: the encrypted SQLite store that keeps the licence, credential, record,
//!   messages and secrets, readable only with the platform key.
//!
//! Only built with the `wallet` feature, so the authority and verifier-only apps carry no
//! SQLite and no disk code.

pub mod store;
