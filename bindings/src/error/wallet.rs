//! The wallet's errors and its store's: not enrolled, no e-licence, the photo, a damaged
//! or full store; requests to the authority go through [`net`](super::net).

use edl_core::wallet::WalletError;
use edl_core::wallet::store::{MigrationError, StoreError};

use super::net::{net, refusal};
use super::{EdlError, InputKind, KeyStoreFailure, RefusalReason};

/// SQLite's primary result code for a full disk, the low byte of the extended code a
/// failed migration step carries (`SQLITE_FULL`; the bindings do not link rusqlite).
const SQLITE_FULL: i32 = 13;

/// The primary SQLite result codes of storage the app can wait for or fix: no permission
/// (`SQLITE_PERM`), read-only (`SQLITE_READONLY`), an I/O error (`SQLITE_IOERR`), cannot
/// open (`SQLITE_CANTOPEN`). Any other code is this library's fault (AL-F3).
const STORAGE_CODES: [i32; 4] = [3, 8, 10, 14];

impl From<StoreError> for EdlError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::WrongKey => EdlError::KeyStore {
                reason: KeyStoreFailure::WrongKey,
            },
            StoreError::KeyWrap(k) => k.into(),
            StoreError::Corrupt(_) => EdlError::CorruptStore,
            StoreError::DiskFull => EdlError::StorageFull,
            // Storage the app can wait for or fix, not a fault of this library (AK-F52).
            StoreError::Locked => EdlError::StoreBusy,
            StoreError::Io(code) if STORAGE_CODES.contains(&(code & 0xff)) => {
                EdlError::StorageUnavailable
            }
            StoreError::Directory(_) => EdlError::StorageUnavailable,
            StoreError::Io(code) => EdlError::Internal {
                detail: format!("storage error (SQLite code {code})"),
            },
            // A file from a newer library: updating the app opens it again; nothing was
            // changed, so it must not be wiped.
            StoreError::Migration(MigrationError::TooNew { .. }) => EdlError::StoreTooNew,
            // A step over a schema the store has checked fails for the disk, not for damage.
            StoreError::Migration(MigrationError::StepFailed { code, .. }) => {
                if code & 0xff == SQLITE_FULL {
                    EdlError::StorageFull
                } else {
                    EdlError::Internal {
                        detail: format!("store migration failed (SQLite code {code})"),
                    }
                }
            }
            StoreError::InvalidName | StoreError::Conversion(_) | StoreError::Reentrant => {
                EdlError::Internal {
                    detail: "store failure".into(),
                }
            }
        }
    }
}

impl From<WalletError> for EdlError {
    fn from(e: WalletError) -> Self {
        use edl_core::photo::PhotoError;
        use edl_core::present::PresentError;
        match e {
            WalletError::Net(e) => net(e, refusal),
            WalletError::NotEnrolled => EdlError::NotEnrolled,
            WalletError::NoElicence => EdlError::NoElicence,
            WalletError::IdentityCheck => EdlError::Refused {
                reason: RefusalReason::IdentityCheckFailed,
            },
            // The core's text may quote what the server sent: a fixed text instead.
            WalletError::Protocol(_) => EdlError::malformed(
                InputKind::ServerResponse,
                "unusable answer from the authority",
            ),
            WalletError::Store(s) => s.into(),
            WalletError::Present(p) => match p {
                PresentError::BadPeriod => EdlError::InvalidArgument {
                    detail: "rotation period out of range".into(),
                },
                PresentError::KeyMismatch | PresentError::Credential(_) => EdlError::CorruptStore,
                PresentError::Render(_) => EdlError::Internal {
                    detail: "the presentation could not be rendered".into(),
                },
            },
            WalletError::PhotoProblems(_) | WalletError::Photo(PhotoError::CannotFrame(_)) => {
                EdlError::PhotoNotAccepted
            }
            WalletError::Photo(p) => EdlError::photo(p),
            WalletError::Internal => EdlError::Internal {
                detail: "wallet".into(),
            },
            WalletError::NoRootPinned => EdlError::InvalidArgument {
                detail: "pin the authority's root (Wallet.pin_root) before taking lists".into(),
            },
            WalletError::TrustList(r) => r.into(),
            WalletError::StatusList(r) => r.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::NotEligibleReason;
    use edl_core::net::NetError;
    use edl_core::wallet::store::{KeyWrapError, MigrationError};
    use edl_core::wire::ErrorCode;

    #[test]
    fn wallet_errors_become_the_variants_an_app_acts_on() {
        use edl_core::licence::NotEligible;
        let cases = [
            (WalletError::Net(NetError::Offline), EdlError::Offline),
            (
                WalletError::Net(NetError::Unauthorised(ErrorCode::BadActivationCode)),
                EdlError::Refused {
                    reason: RefusalReason::ActivationCodeInvalid,
                },
            ),
            (
                WalletError::Net(NetError::Rejected {
                    code: ErrorCode::BadActivationCode,
                }),
                EdlError::Refused {
                    reason: RefusalReason::ActivationCodeInvalid,
                },
            ),
            (
                WalletError::Net(NetError::Unauthorised(ErrorCode::BadSignature)),
                EdlError::Unauthorised,
            ),
            (
                WalletError::Net(NetError::LockedOut {
                    retry_after_secs: 60,
                }),
                EdlError::Busy {
                    retry_after_secs: 60,
                },
            ),
            (
                WalletError::Net(NetError::NotEligible(NotEligible::Suspended)),
                EdlError::NotEligible {
                    reason: NotEligibleReason::Suspended,
                },
            ),
            (WalletError::NotEnrolled, EdlError::NotEnrolled),
            (WalletError::NoElicence, EdlError::NoElicence),
            (
                WalletError::PhotoProblems(Vec::new()),
                EdlError::PhotoNotAccepted,
            ),
            (
                WalletError::Store(StoreError::WrongKey),
                EdlError::KeyStore {
                    reason: KeyStoreFailure::WrongKey,
                },
            ),
            (
                WalletError::Store(StoreError::KeyWrap(KeyWrapError::KeyInvalidated)),
                EdlError::KeyStore {
                    reason: KeyStoreFailure::Invalidated,
                },
            ),
            // Another process holding the store, and storage that cannot be used now,
            // are for the app to wait for or fix, not library faults (AK-F52).
            (WalletError::Store(StoreError::Locked), EdlError::StoreBusy),
            (
                WalletError::Store(StoreError::Io(14)),
                EdlError::StorageUnavailable,
            ),
            // SQLITE_IOERR_WRITE, an extended code of an I/O error.
            (
                WalletError::Store(StoreError::Io(778)),
                EdlError::StorageUnavailable,
            ),
            // A misuse inside the library is still its fault (AL-F3).
            (
                WalletError::Store(StoreError::Io(-1)),
                EdlError::Internal {
                    detail: "storage error (SQLite code -1)".into(),
                },
            ),
            (
                WalletError::Store(StoreError::Directory(13)),
                EdlError::StorageUnavailable,
            ),
            (
                WalletError::Store(StoreError::DiskFull),
                EdlError::StorageFull,
            ),
            // A downgraded app: update it, never wipe (F6).
            (
                WalletError::Store(StoreError::Migration(MigrationError::TooNew {
                    found: 3,
                    supported: 2,
                })),
                EdlError::StoreTooNew,
            ),
            // A failed step of a schema the store has checked is the disk, not damage.
            (
                WalletError::Store(StoreError::Migration(MigrationError::StepFailed {
                    from: 1,
                    // SQLITE_FULL
                    code: 13,
                })),
                EdlError::StorageFull,
            ),
            (
                WalletError::Store(StoreError::Migration(MigrationError::StepFailed {
                    from: 1,
                    code: 10 | (13 << 8),
                })),
                EdlError::Internal {
                    detail: "store migration failed (SQLite code 3338)".into(),
                },
            ),
            // A key store that unwraps a key of the wrong length is at fault, not the file.
            (
                WalletError::Store(StoreError::KeyWrap(KeyWrapError::BadKeyLength)),
                EdlError::KeyStore {
                    reason: KeyStoreFailure::Failed,
                },
            ),
            (
                WalletError::Net(NetError::BadUrl),
                EdlError::InvalidArgument {
                    detail: "authority_url must start with http:// or https://".into(),
                },
            ),
        ];
        for (wallet, edl) in cases {
            assert_eq!(EdlError::from(wallet), edl);
        }
    }

    #[test]
    fn a_server_text_never_reaches_the_app() {
        let e = EdlError::from(WalletError::Protocol("name 张三 in a body".into()));
        assert!(!e.to_string().contains("张三"));
        assert!(matches!(
            e,
            EdlError::Malformed {
                what: InputKind::ServerResponse,
                ..
            }
        ));
    }
}
