//! The wallet's encrypted store: one SQLite file per wallet, unreadable without the key
//! the app's platform key store holds.
//!
//! The wallet layer keeps its own types in it as JSON, in three shapes:
//!
//! - **documents** by name (`"enrolment"`, `"licence"`, `"credential"`, `"sync_state"`):
//!   [`WriteTx::put_doc`], [`StoreRead::get_doc`];
//! - **secrets** by name (device key seed, TOTP seed), handed back as [`SecretBytes`]
//!   (zeroized on drop, redacted in `Debug`):
//!   [`WriteTx::put_secret`], [`StoreRead::get_secret`];
//! - **lists** of items keyed by the server's id (`"record"`, `"messages"`,
//!   `"verification_log"`, `"photo_reviews"`), upserted in place and read in insertion
//!   order: [`WriteTx::upsert_item`], [`StoreRead::list_items`].
//!
//! The reads are one trait, [`StoreRead`], on the store (each call its own snapshot), on a
//! [`ReadTx`] (one snapshot for several reads) and on a [`WriteTx`] (which sees its own
//! writes).
//!
//! All writes of one sync go through one [`WalletStore::write`] closure, one SQLite
//! transaction.
//!
//! At rest, each value is sealed with XChaCha20-Poly1305 under a random data key and bound
//! to its row by associated data; the data key is stored only wrapped by a [`KeyWrapper`].
//! Why field-level encryption rather than SQLCipher, with figures: `docs/DECISIONS.md` (D16).
//! A keyed digest over the whole set of rows, moved by every write, finds rows mixed from
//! different moments of the wallet when the store opens (D143).
//!
//! ```
//! use edl_core::wallet::store::{
//!     Argon2Settings, SoftwareKeyStore, StoreError, StoreRead, WalletStore,
//! };
//! # fn main() -> Result<(), StoreError> {
//! # let dir = tempfile::tempdir().unwrap();
//! let keys = SoftwareKeyStore::from_passphrase_with("pass", Argon2Settings::INSECURE_FOR_TESTS)?;
//! let store = WalletStore::open(dir.path().join("wallet.db"), &keys)?;
//! store.write(|tx| {
//!     tx.put_doc("sync_state", &serde_json::json!({ "cursor": 7 }))?;
//!     tx.upsert_item("messages", "m-1", "申请成功")?;
//!     tx.put_secret("totp_seed", &[0x42; 32])
//! })?;
//! let messages = store.list_items::<String>("messages")?;
//! assert_eq!(messages[0].value, "申请成功");
//! # Ok(())
//! # }
//! ```

//!
//! Where each part lives: `open` (creating a file, checking its key, migrating), `lock`
//! (the one connection and the re-entrancy check), `encoding` (names, ids and values as
//! rows hold them), `read` and `write` (the transactions), `wallet_store` (the handle),
//! `cipher` (sealing), `digest` (the row digest), `rebuild` (what a store of mixed rows
//! keeps), `schema` (tables and migrations).

mod cipher;
mod digest;
mod encoding;
mod error;
mod keystore;
mod lock;
mod open;
mod read;
mod rebuild;
mod schema;
mod secret;
mod wallet_store;
mod write;

#[cfg(test)]
mod tests;

pub use encoding::ListItem;
pub use error::{Conversion, Corruption, KeyWrapError, MigrationError, StoreError};
pub use keystore::{Argon2Settings, KeyWrapper, SoftwareKeyStore};
pub use read::{ReadTx, StoreRead};
pub use secret::SecretBytes;
pub use wallet_store::WalletStore;
pub use write::WriteTx;
