//! `edl`: the command a newcomer runs first.

fn main() {
    println!("edl {}", env!("CARGO_PKG_VERSION"));
}
