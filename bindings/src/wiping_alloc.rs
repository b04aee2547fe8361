//! The phone library's allocator: every block its Rust code frees is overwritten first
//! (AK-F53, D209).
//!
//! The wallet's data key crosses the FFI edge to and from the app's `KeyStore` in UniFFI's
//! transfer buffers, which UniFFI frees through this allocator without wiping them; so do
//! the other short-lived heap copies no type owns (a `Vec` moved by `realloc`, a
//! serializer's scratch). `Zeroizing` on each type that holds a secret cannot reach those; a wipe at
//! `free` reaches all of them. It costs one `memset` a free, next to the work a phone does
//! per call (a QR, a sync), and nothing on the authority, which does not link this crate.
//!
//! It governs this library's Rust heap only. Outside it: copies on the stack (a key moved
//! by value is never freed, R14's residue); the app's own copies (the `ByteArray` or
//! `Data` its `KeyStore` receives and returns), the app's to overwrite, as the UDL says;
//! and on iOS the generated Swift code's own temporary `[UInt8]` of the key, one each way
//! a call, which Swift frees unwiped (Kotlin's code reads and writes the buffer itself).
//! SQLite allocates through the C `malloc`, not here; it never holds the key.

/// `zeroizing-alloc` (1Password) wipes with a `memset` the optimiser cannot remove and
/// leaves `realloc` to the default, which moves the block through `alloc` and `dealloc`,
/// so the old block is wiped too. One static for the library and its unit tests, so the
/// tests run the wrapper the library ships; only what sits under it differs.
#[global_allocator]
static ALLOCATOR: zeroizing_alloc::ZeroAlloc<Under> = zeroizing_alloc::ZeroAlloc(UNDER);

/// Under the wipe: the system allocator.
#[cfg(not(test))]
type Under = std::alloc::System;
#[cfg(not(test))]
const UNDER: Under = std::alloc::System;

/// Under the wipe in this crate's unit tests: the system allocator behind
/// [`watch::Watch`], which sees each block as the system allocator gets it back.
#[cfg(test)]
type Under = watch::Watch;
#[cfg(test)]
const UNDER: Under = watch::Watch;

/// A test-only allocator under the wiping one that counts freed blocks still holding a
/// given secret: what a heap dump taken after the free would find.
#[cfg(test)]
pub(crate) mod watch {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    static ARMED: AtomicBool = AtomicBool::new(false);
    // std's Mutex does not allocate, so it is safe inside an allocator.
    static SECRET: Mutex<[u8; 32]> = Mutex::new([0; 32]);
    static FOUND: AtomicUsize = AtomicUsize::new(0);

    /// The system allocator, with a look at each block handed back while armed.
    pub(crate) struct Watch;

    unsafe impl GlobalAlloc for Watch {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if ARMED.load(Ordering::Acquire) && layout.size() >= 32 {
                // SAFETY: `ptr` is a live block of `layout.size()` bytes until the call below.
                let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
                let secret = *SECRET.lock().unwrap_or_else(|e| e.into_inner());
                if block.windows(32).any(|w| w == secret) {
                    FOUND.fetch_add(1, Ordering::Relaxed);
                }
            }
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    /// Starts counting freed blocks that hold `secret`.
    pub(crate) fn arm(secret: [u8; 32]) {
        *SECRET.lock().unwrap_or_else(|e| e.into_inner()) = secret;
        FOUND.store(0, Ordering::Relaxed);
        ARMED.store(true, Ordering::Release);
    }

    /// Stops counting; returns how many freed blocks held the secret since [`arm`].
    pub(crate) fn disarm() -> usize {
        ARMED.store(false, Ordering::Release);
        *SECRET.lock().unwrap_or_else(|e| e.into_inner()) = [0; 32];
        FOUND.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use zeroize::Zeroizing;

    use super::watch;
    use crate::{EdlError, KeyStore, Wallet};

    /// A key store that handles the data key as an app's does across the FFI edge: what
    /// UniFFI's scaffolding does with it is done here with UniFFI's own converters (the key
    /// lowered into a transfer buffer, the app's copy taken out, the buffer freed; back the
    /// other way). The app's own copies are held in `Zeroizing`, as the UDL asks of an app.
    struct AcrossTheEdge {
        armed: Mutex<bool>,
    }

    /// The app's side of a call: reads a lowered `bytes` value out of its transfer buffer
    /// (a 4-byte length, then the bytes) and frees the buffer, as generated foreign code does.
    fn app_takes(buf: uniffi::RustBuffer) -> Zeroizing<Vec<u8>> {
        // SAFETY: the buffer is valid for `len()` bytes until destroyed below.
        let bytes = unsafe { std::slice::from_raw_parts(buf.data_pointer(), buf.len()) };
        let copy = Zeroizing::new(bytes[4..].to_vec());
        buf.destroy();
        copy
    }

    /// The app's side of a return: a transfer buffer holding `value`, as generated
    /// foreign code writes it for the library to lift.
    fn app_gives(value: &[u8]) -> uniffi::RustBuffer {
        let mut framed = Vec::with_capacity(4 + value.len());
        framed.extend_from_slice(&(value.len() as i32).to_be_bytes());
        framed.extend_from_slice(value);
        uniffi::RustBuffer::from_vec(framed)
    }

    fn across(value: Vec<u8>) -> Vec<u8> {
        let lowered = <Vec<u8> as uniffi::Lower<crate::UniFfiTag>>::lower(value);
        let app_copy = app_takes(lowered);
        <Vec<u8> as uniffi::Lift<crate::UniFfiTag>>::try_lift(app_gives(&app_copy)).unwrap()
    }

    impl KeyStore for AcrossTheEdge {
        fn wrap_key(&self, plaintext: Vec<u8>) -> Result<Vec<u8>, EdlError> {
            let mut armed = self.armed.lock().unwrap();
            if !*armed {
                // From here on, a freed block holding the data key is a copy left behind.
                watch::arm(plaintext.as_slice().try_into().unwrap());
                *armed = true;
            }
            let key = Zeroizing::new(across(plaintext));
            // The "platform key" here is a fixed pad: the blob is not the key itself.
            Ok(key.iter().map(|b| b ^ 0x5a).collect())
        }

        fn unwrap_key(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, EdlError> {
            let key = Zeroizing::new(wrapped.iter().map(|b| b ^ 0x5a).collect::<Vec<u8>>());
            Ok(across(key.to_vec()))
        }
    }

    #[test]
    fn no_block_freed_while_a_wallet_is_made_and_opened_again_keeps_its_data_key() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("wallet").to_string_lossy().into_owned();
        let keys = Arc::new(AcrossTheEdge {
            armed: Mutex::new(false),
        });
        let wallet = Wallet::new(dir.clone(), keys.clone()).expect("created");
        drop(wallet);
        let wallet = Wallet::new(dir.clone(), keys.clone()).expect("opened again");
        drop(wallet);
        let left = watch::disarm();
        assert!(
            *keys.armed.lock().unwrap(),
            "the data key was never wrapped"
        );
        assert_eq!(left, 0, "freed blocks still holding the data key");
    }
}
