//! Randomness from the operating system (keys, seeds, codes, ids, nonces).

/// `N` random bytes. The OS generator failing leaves nothing safe to do, so it aborts
/// the request's task with a panic (caught and answered 500), never a weak value.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).expect("the OS random generator is available");
    out
}

/// A random id in 1..2^63 (positive in SQLite's signed integers, exact in JSON strings).
pub fn id() -> u64 {
    (u64::from_be_bytes(bytes()) >> 1).max(1)
}

/// `digits` random decimal digits (uniform: rejection sampling, no modulo bias).
pub fn digits(n: usize) -> String {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in bytes::<16>() {
            if b < 250 && out.len() < n {
                out.push(char::from(b'0' + b % 10));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn digits_are_digits_of_the_asked_length() {
        let d = super::digits(8);
        assert_eq!(d.len(), 8);
        assert!(d.bytes().all(|b| b.is_ascii_digit()));
        assert!(super::id() < 1 << 63);
    }
}
