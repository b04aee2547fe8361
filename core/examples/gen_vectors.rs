//! Prints the pinned format vectors. Run once per format version and commit the output:
//! `cargo run -p edl-core --example gen_vectors > core/tests/vectors/v1.txt`.

fn main() {
    println!("# EDL protocol version 1 format vectors (see docs/PROTOCOL.md).");
    println!(
        "# Made by `cargo run -p edl-core --example gen_vectors`; keys are the fixed sample keys."
    );
    for (name, value) in edl_core::sample::vectors() {
        println!("{name} = {value}");
    }
}
