//! Writes the pinned format vectors and the test cases with their expected outcomes.
//! Run once per format version and commit the output:
//! `cargo run -p edl-core --example gen_vectors` writes `core/tests/vectors/v1.txt` and
//! `core/tests/vectors/v1-cases.txt` (see docs/PROTOCOL.md, "Test vectors").

use std::path::Path;

fn main() -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut v1 = String::from(
        "# EDL protocol version 1 format vectors (see docs/PROTOCOL.md).\n\
         # Made by `cargo run -p edl-core --example gen_vectors`; keys are the fixed sample keys.\n\
         # Expected outcome: every vector is accepted at `now` (the credential under `trust_list`,\n\
         # the offline payloads by a verifier of their audience, the codes under `totp_seed`).\n",
    );
    for (name, value) in edl_core::sample::vectors() {
        v1.push_str(&format!("{name} = {value}\n"));
    }
    std::fs::write(dir.join("v1.txt"), v1)?;
    let cases = edl_core::vectors::render(&edl_core::vectors::cases());
    std::fs::write(dir.join("v1-cases.txt"), cases)
}
