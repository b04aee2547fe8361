//! The wallet's encrypted store: one SQLite file per wallet, unreadable without the key
//! the app's platform key store holds.
//!
//! The wallet layer keeps its own types in it as JSON, in three shapes:
//!
//! - **documents** by name (`"enrolment"`, `"licence"`, `"credential"`, `"sync_state"`):
//!   [`WriteTx::put_doc`], [`Store::get_doc`];
//! - **secrets** by name (device key seed, TOTP seed), handed back as [`SecretBytes`]
//!   (zeroized on drop, redacted in `Debug`):
//!   [`WriteTx::put_secret`], [`Store::get_secret`];
//! - **lists** of items keyed by the server's id (`"record"`, `"messages"`,
//!   `"verification_log"`, `"photo_reviews"`), upserted in place and read in insertion
//!   order: [`WriteTx::upsert_item`], [`Store::list_items`].
//!
//! All writes of one sync go through one [`Store::write`] closure, one SQLite transaction.
//!
//! At rest, each value is sealed with XChaCha20-Poly1305 under a random data key and bound
//! to its row by associated data; the data key is stored only wrapped by a [`KeyStore`].
//! Why field-level encryption rather than SQLCipher, with figures: `docs/DECISIONS.md` (D16).
//!
//! ```
//! use edl_core::wallet::store::{Argon2Settings, SoftwareKeyStore, Store, StoreError};
//! # fn main() -> Result<(), StoreError> {
//! # let dir = tempfile::tempdir().unwrap();
//! let keys = SoftwareKeyStore::from_passphrase_with("pass", Argon2Settings::INSECURE_FOR_TESTS)?;
//! let store = Store::open(dir.path().join("wallet.db"), &keys)?;
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

mod cipher;
mod db;
mod error;
mod keystore;
mod schema;
mod secret;

pub use db::{ListItem, ReadTx, Store, WriteTx};
pub use error::{Conversion, Corruption, KeyStoreError, MigrationError, StoreError};
pub use keystore::{Argon2Settings, KeyStore, SoftwareKeyStore};
pub use secret::SecretBytes;
