//! `edl authority root …`: the authority's root key (D72, D94). It signs trust lists and
//! nothing else, lives in its own file (mode 0600), never in the issuing database, and
//! its secret is never printed or logged: only its public key, which verifiers pin.

use std::path::{Path, PathBuf};

use edl_authority::root::{RootKey, TRUST_LIST_LIFETIME};
use edl_core::credential::{TrustList, TrustListContents};
use edl_core::licence::beijing;
use edl_core::wire::Base64;
use serde_json::Value;

use crate::exit::Failure;
use crate::lists;

/// `edl authority root` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Make a new root key file and print the public key every verifier pins.
    ///
    /// The file holds the secret seed (64 hex characters) with mode 0600; an existing
    /// file is never overwritten (a new root must be announced by the old one: see
    /// `root sign --next-root`). Only the public key is printed, on stdout.
    ///
    /// Example: `edl authority root create --out root.key`
    Create {
        /// Where to write the new root key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a trust list now with the root: the authority's issuing keys, valid a week.
    ///
    /// For a root kept offline (the server then serves no signed list) after an issuing
    /// key rotation, or to announce the next root before a root rotation. The list's
    /// sequence is the signing time in seconds, so it supersedes every list signed
    /// before it. Writes the signed bytes, as `GET /v1/trust-list/signed` serves them.
    ///
    /// Example: `edl authority root sign --key root.key --authority URL --out trust.bin`
    Sign {
        /// The root key file (default: EDL_AUTHORITY_ROOT_KEY, else the file
        /// EDL_AUTHORITY_ROOT_KEY_FILE).
        #[arg(long)]
        key: Option<PathBuf>,
        /// The authority whose issuing keys to sign (read from `GET /v1/trust-list`).
        #[arg(long, required_unless_present = "keys")]
        authority: Option<String>,
        /// Or a file with the issuing keys (the JSON answer of `GET /v1/trust-list`), for
        /// a signing machine without network.
        #[arg(long, conflicts_with = "authority")]
        keys: Option<PathBuf>,
        /// Announce the next root in this list (its public key: 64 hex characters or a
        /// file holding them). Verifiers that hold the list then accept lists the next
        /// root signs, and pin it from then on.
        #[arg(long)]
        next_root: Option<String>,
        /// Where to write the signed list.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs an `edl authority root` subcommand.
pub fn run(command: Command, runtime: &tokio::runtime::Runtime) -> Result<(), Failure> {
    match command {
        Command::Create { out } => {
            let root = RootKey::create(&out).map_err(|e| e.to_string())?;
            eprintln!(
                "root key written to {} (mode 0600): keep it offline and backed up; \
                 every verifier pins this public key:",
                out.display()
            );
            println!("{}", root.public());
            Ok(())
        }
        Command::Sign {
            key,
            authority,
            keys,
            next_root,
            out,
        } => {
            let root = match &key {
                Some(path) => RootKey::load(path).map_err(|e| e.to_string())?,
                None => RootKey::from_env().map_err(|e| e.to_string())?.ok_or(
                    "give --key FILE (or EDL_AUTHORITY_ROOT_KEY_FILE): the root key to sign with",
                )?,
            };
            let keys = match (&authority, &keys) {
                (_, Some(path)) => read_keys(path)?,
                (Some(url), None) => decode_keys(&runtime.block_on(crate::http::trust_list(url))?)?,
                (None, None) => return Err("give --authority URL or --keys FILE".into()),
            };
            if keys.keys().is_empty() {
                return Err("no issuing keys to sign".into());
            }
            let next_root = next_root.as_deref().map(lists::parse_root).transpose()?;
            if next_root == Some(root.public()) {
                return Err("the next root must be a new key, not the one signing".into());
            }
            let now = lists::now()?;
            let at = u32::try_from(now).map_err(|_| "the clock is past 2106")?;
            let contents = TrustListContents {
                sequence: at,
                issued_at: at,
                expires_at: at.saturating_add(TRUST_LIST_LIFETIME),
                next_root,
                keys,
            };
            let bytes = root.sign_contents(&contents);
            // What is written is what a verifier pinning this root accepts.
            lists::open_trust(&root.public(), &bytes, now)?;
            lists::save(&out, &bytes)?;
            println!("{}", lists::describe_trust(&contents));
            for k in contents.keys.keys() {
                let until = match k.not_after {
                    u32::MAX => "now (the current key)".to_owned(),
                    t => beijing::format(u64::from(t)),
                };
                println!(
                    "  issuing key {} {}: {} to {until}",
                    k.kid.0,
                    k.key,
                    beijing::format(u64::from(k.not_before)),
                );
            }
            println!(
                "signed by the root {} and saved to {}",
                root.public(),
                out.display()
            );
            Ok(())
        }
    }
}

/// The issuing keys from a file: the JSON answer of `GET /v1/trust-list`, or the
/// encoded list itself.
fn read_keys(path: &Path) -> Result<TrustList, Failure> {
    let bytes = lists::read(path)?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) => {
            let b64: Base64 = serde_json::from_value(v["trust_list"].clone())
                .map_err(|_| "not a list of issuing keys: no `trust_list` field".to_owned())?;
            decode_keys(b64.as_bytes())
        }
        Err(_) => decode_keys(&bytes),
    }
}

fn decode_keys(bytes: &[u8]) -> Result<TrustList, Failure> {
    TrustList::decode(bytes).map_err(|e| Failure::from(format!("not a list of issuing keys: {e}")))
}
