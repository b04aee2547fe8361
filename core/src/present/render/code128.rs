//! The Code 128 symbology (ISO/IEC 15417): text to symbol values to bar modules.
//!
//! Only code sets B (printable ASCII) and C (digit pairs) are used: the barcode carries a short
//! code a person could also type, so the control characters of set A are never needed.

use super::error::RenderError;

/// Bar and space widths, in modules, of each symbol value 0..=105, bar first. Each sums to 11.
/// Copied from the symbol table of ISO/IEC 15417 (the same table as every Code 128 reference).
#[rustfmt::skip]
const PATTERNS: [[u8; 6]; 106] = [
    [2,1,2,2,2,2], [2,2,2,1,2,2], [2,2,2,2,2,1], [1,2,1,2,2,3], [1,2,1,3,2,2], // 0-4
    [1,3,1,2,2,2], [1,2,2,2,1,3], [1,2,2,3,1,2], [1,3,2,2,1,2], [2,2,1,2,1,3], // 5-9
    [2,2,1,3,1,2], [2,3,1,2,1,2], [1,1,2,2,3,2], [1,2,2,1,3,2], [1,2,2,2,3,1], // 10-14
    [1,1,3,2,2,2], [1,2,3,1,2,2], [1,2,3,2,2,1], [2,2,3,2,1,1], [2,2,1,1,3,2], // 15-19
    [2,2,1,2,3,1], [2,1,3,2,1,2], [2,2,3,1,1,2], [3,1,2,1,3,1], [3,1,1,2,2,2], // 20-24
    [3,2,1,1,2,2], [3,2,1,2,2,1], [3,1,2,2,1,2], [3,2,2,1,1,2], [3,2,2,2,1,1], // 25-29
    [2,1,2,1,2,3], [2,1,2,3,2,1], [2,3,2,1,2,1], [1,1,1,3,2,3], [1,3,1,1,2,3], // 30-34
    [1,3,1,3,2,1], [1,1,2,3,1,3], [1,3,2,1,1,3], [1,3,2,3,1,1], [2,1,1,3,1,3], // 35-39
    [2,3,1,1,1,3], [2,3,1,3,1,1], [1,1,2,1,3,3], [1,1,2,3,3,1], [1,3,2,1,3,1], // 40-44
    [1,1,3,1,2,3], [1,1,3,3,2,1], [1,3,3,1,2,1], [3,1,3,1,2,1], [2,1,1,3,3,1], // 45-49
    [2,3,1,1,3,1], [2,1,3,1,1,3], [2,1,3,3,1,1], [2,1,3,1,3,1], [3,1,1,1,2,3], // 50-54
    [3,1,1,3,2,1], [3,3,1,1,2,1], [3,1,2,1,1,3], [3,1,2,3,1,1], [3,3,2,1,1,1], // 55-59
    [3,1,4,1,1,1], [2,2,1,4,1,1], [4,3,1,1,1,1], [1,1,1,2,2,4], [1,1,1,4,2,2], // 60-64
    [1,2,1,1,2,4], [1,2,1,4,2,1], [1,4,1,1,2,2], [1,4,1,2,2,1], [1,1,2,2,1,4], // 65-69
    [1,1,2,4,1,2], [1,2,2,1,1,4], [1,2,2,4,1,1], [1,4,2,1,1,2], [1,4,2,2,1,1], // 70-74
    [2,4,1,2,1,1], [2,2,1,1,1,4], [4,1,3,1,1,1], [2,4,1,1,1,2], [1,3,4,1,1,1], // 75-79
    [1,1,1,2,4,2], [1,2,1,1,4,2], [1,2,1,2,4,1], [1,1,4,2,1,2], [1,2,4,1,1,2], // 80-84
    [1,2,4,2,1,1], [4,1,1,2,1,2], [4,2,1,1,1,2], [4,2,1,2,1,1], [2,1,2,1,4,1], // 85-89
    [2,1,4,1,2,1], [4,1,2,1,2,1], [1,1,1,1,4,3], [1,1,1,3,4,1], [1,3,1,1,4,1], // 90-94
    [1,1,4,1,1,3], [1,1,4,3,1,1], [4,1,1,1,1,3], [4,1,1,3,1,1], [1,1,3,1,4,1], // 95-99
    [1,1,4,1,3,1], [3,1,1,1,4,1], [4,1,1,1,3,1], [2,1,1,4,1,2], [2,1,1,2,1,4], // 100-104
    [2,1,1,2,3,2],                                                             // 105
];

/// The stop pattern with its trailing two-module termination bar: 13 modules.
const STOP: [u8; 7] = [2, 3, 3, 1, 1, 1, 2];

/// Modules of one symbol value.
pub(crate) const SYMBOL_MODULES: usize = 11;

/// Modules of the stop pattern.
pub(crate) const STOP_MODULES: usize = 13;

/// Switch to code set C (value 99 in set B).
const CODE_C: u8 = 99;
/// Switch to code set B (value 100 in set C).
const CODE_B: u8 = 100;
const START_B: u8 = 104;
const START_C: u8 = 105;
/// The checksum is the weighted sum of the values modulo this.
const CHECK_MODULUS: u32 = 103;

/// Most characters accepted: GS1 caps Code 128 symbols at 48 data characters, beyond which
/// symbols outgrow common scanners' fields of view.
pub(crate) const MAX_TEXT_CHARS: usize = 48;

/// The code set in force at a point of the symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Set {
    B,
    C,
}

/// The symbol values for `text`: start code, data and code-set switches, then the checksum
/// (the stop pattern has no value and is added by [`modules`]).
///
/// Code sets are chosen for the fewest symbols, so an all-digit text is set C throughout: half
/// as many symbols, and so half as wide, as set B.
pub(crate) fn values(text: &str) -> Result<Vec<u8>, RenderError> {
    check_text(text)?;
    let bytes = text.as_bytes();
    let cost = costs(bytes);
    let mut set = if cost[0][Set::C as usize] < cost[0][Set::B as usize] {
        Set::C
    } else {
        Set::B
    };
    let mut values = Vec::with_capacity(cost[0][set as usize] + 2);
    values.push(match set {
        Set::B => START_B,
        Set::C => START_C,
    });
    let mut i = 0;
    while i < bytes.len() {
        if stay_cost(bytes, &cost, i, set) != Some(cost[i][set as usize]) {
            // The cheapest way on from here starts with a switch.
            set = match set {
                Set::B => Set::C,
                Set::C => Set::B,
            };
            values.push(match set {
                Set::B => CODE_B,
                Set::C => CODE_C,
            });
        }
        match set {
            Set::B => {
                values.push(bytes[i] - b' ');
                i += 1;
            }
            Set::C => {
                values.push((bytes[i] - b'0') * 10 + (bytes[i + 1] - b'0'));
                i += 2;
            }
        }
    }
    values.push(checksum(&values));
    Ok(values)
}

/// Accepts 1 to [`MAX_TEXT_CHARS`] printable ASCII characters.
fn check_text(text: &str) -> Result<(), RenderError> {
    if let Some((position, character)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| !(' '..='~').contains(c))
    {
        return Err(RenderError::BarcodeTextNotEncodable {
            position,
            character,
        });
    }
    match text.len() {
        0 => Err(RenderError::EmptyBarcodeText),
        len if len > MAX_TEXT_CHARS => Err(RenderError::BarcodeTextTooLong {
            len,
            max: MAX_TEXT_CHARS,
        }),
        _ => Ok(()),
    }
}

/// `cost[i][set]`: fewest symbols that encode `bytes[i..]` with `set` in force at `i`, switches
/// included. Worked back to front; with only two sets the minimum is exact.
fn costs(bytes: &[u8]) -> Vec<[usize; 2]> {
    let mut cost = vec![[0; 2]; bytes.len() + 1];
    for i in (0..bytes.len()).rev() {
        let stay = |set| stay_cost(bytes, &cost, i, set).unwrap_or(usize::MAX / 2);
        let (b, c) = (stay(Set::B), stay(Set::C));
        cost[i] = [b.min(c + 1), c.min(b + 1)];
    }
    cost
}

/// Symbols for `bytes[i..]` if the next character(s) are encoded in `set` without switching, or
/// `None` where `set` cannot encode them (set C needs two digits).
fn stay_cost(bytes: &[u8], cost: &[[usize; 2]], i: usize, set: Set) -> Option<usize> {
    match set {
        Set::B => Some(1 + cost[i + 1][Set::B as usize]),
        Set::C => {
            let pair = bytes.get(i..i + 2)?;
            pair.iter()
                .all(u8::is_ascii_digit)
                .then(|| 1 + cost[i + 2][Set::C as usize])
        }
    }
}

/// The check value: the start value plus each following value times its position, modulo 103.
fn checksum(values: &[u8]) -> u8 {
    let sum = values
        .iter()
        .skip(1)
        .zip(1u32..)
        .fold(u32::from(values[0]), |sum, (&v, weight)| {
            (sum + u32::from(v) * weight) % CHECK_MODULUS
        });
    // Below 103, so it fits.
    sum as u8
}

/// The bar modules (`true` = bar) of the symbol values followed by the stop pattern, without
/// quiet zones.
pub(crate) fn modules(values: &[u8]) -> Vec<bool> {
    let mut out = Vec::with_capacity(values.len() * SYMBOL_MODULES + STOP_MODULES);
    let widths = values
        .iter()
        .flat_map(|&v| PATTERNS[usize::from(v)].iter())
        .chain(STOP.iter());
    // Elements alternate bar, space, bar… and every pattern has an even count of them, so
    // each pattern starts with a bar.
    for (element, &width) in widths.enumerate() {
        let bar = element % 2 == 0;
        out.extend(std::iter::repeat_n(bar, usize::from(width)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn widths_of(modules: &[bool]) -> Vec<u8> {
        let mut widths = Vec::new();
        let mut run = 0u8;
        for (i, &m) in modules.iter().enumerate() {
            run += 1;
            if modules.get(i + 1) != Some(&m) {
                widths.push(run);
                run = 0;
            }
        }
        widths
    }

    fn module_string(modules: &[bool]) -> String {
        modules.iter().map(|&m| if m { '1' } else { '0' }).collect()
    }

    /// An independent reader: modules back to values, checking the checksum and stop pattern,
    /// then values back to text.
    fn read(modules: &[bool]) -> String {
        let (body, stop) = modules.split_at(modules.len() - STOP_MODULES);
        assert_eq!(widths_of(stop), STOP);
        assert_eq!(body.len() % SYMBOL_MODULES, 0);
        let values: Vec<u8> = body
            .chunks(SYMBOL_MODULES)
            .map(|symbol| {
                let widths = widths_of(symbol);
                PATTERNS.iter().position(|p| p[..] == widths[..]).unwrap() as u8
            })
            .collect();
        let (check, data) = values.split_last().unwrap();
        assert_eq!(checksum(data), *check);
        let mut set = match data[0] {
            START_B => Set::B,
            START_C => Set::C,
            other => panic!("unexpected start value {other}"),
        };
        let mut text = String::new();
        for &v in &data[1..] {
            match (set, v) {
                (Set::B, CODE_C) => set = Set::C,
                (Set::C, CODE_B) => set = Set::B,
                (Set::B, v) => text.push(char::from(v + b' ')),
                (Set::C, v) => text.push_str(&format!("{v:02}")),
            }
        }
        text
    }

    #[test]
    fn every_pattern_is_three_bars_and_three_spaces_eleven_modules_wide() {
        for (value, pattern) in PATTERNS.iter().enumerate() {
            assert_eq!(
                pattern.iter().map(|&w| usize::from(w)).sum::<usize>(),
                11,
                "{value}"
            );
            assert!(pattern.iter().all(|&w| (1..=4).contains(&w)), "{value}");
        }
        assert_eq!(STOP.iter().map(|&w| usize::from(w)).sum::<usize>(), 13);
    }

    #[test]
    fn patterns_are_all_distinct() {
        for (i, a) in PATTERNS.iter().enumerate() {
            assert!(PATTERNS[i + 1..].iter().all(|b| a != b), "{i}");
        }
    }

    #[test]
    fn bar_patterns_match_the_published_table() {
        // Module strings from the standard's table (1 = bar).
        let cases: [(u8, &str); 8] = [
            (0, "11011001100"),   // space in B, 00 in C
            (16, "10011101100"),  // "0" in B
            (33, "10100011000"),  // "A" in B
            (95, "10111101000"),  // DEL in B
            (99, "10111011110"),  // CODE C
            (100, "10111101110"), // CODE B
            (104, "11010010000"), // START B
            (105, "11010011100"), // START C
        ];
        for (value, expected) in cases {
            assert_eq!(module_string(&modules(&[value])[..11]), expected, "{value}");
        }
        assert_eq!(module_string(&modules(&[])), "1100011101011");
    }

    #[test]
    fn worked_example_checksum() {
        // The standard's worked example "PJJ123C": with START A the weighted sum is
        // 103 + 1·48 + 2·42 + 3·42 + 4·17 + 5·18 + 6·19 + 7·35 = 878 and the check is 54.
        // Three digits are too few for set C, so this encoder starts with B (104): 879 → 55.
        let v = values("PJJ123C").unwrap();
        assert_eq!(v, vec![START_B, 48, 42, 42, 17, 18, 19, 35, 55]);
        assert_eq!(checksum(&[103, 48, 42, 42, 17, 18, 19, 35]), 54);
    }

    #[test]
    fn whole_symbols_match_an_independent_encoder() {
        // Produced by the `barcoders` 2.0 crate with the same code sets given explicitly
        // ("Ć12345678901234567890", "ƁAB1Ć234567ƁCD"); start to stop bar, no quiet zones.
        let cases = [
            (
                "12345678901234567890",
                concat!(
                    "11010011100101100111001000101100011100010110110000101001101111011010",
                    "11001110010001011000111000101101100001010011011110110110010100001100",
                    "011101011",
                ),
            ),
            (
                "AB1234567CD",
                concat!(
                    "11010010000101000110001000101100010011100110101110111101110110111010",
                    "11101100010000101100101111011101000100011010110001000111101010001100",
                    "011101011",
                ),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                module_string(&modules(&values(text).unwrap())),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn all_digit_text_uses_code_set_c() {
        // 105 + 1·12 + 2·34 + 3·56 + 4·78 + 5·90 = 1115 = 10·103 + 85.
        assert_eq!(
            values("1234567890").unwrap(),
            vec![START_C, 12, 34, 56, 78, 90, 85]
        );
    }

    #[test]
    fn twenty_digits_are_narrower_in_set_c_than_set_b() {
        let text = "12345678901234567890";
        let set_c = modules(&values(text).unwrap()).len();
        // Start, 10 pairs, check, stop.
        assert_eq!(set_c, 12 * 11 + 13);
        let mut set_b: Vec<u8> = vec![START_B];
        set_b.extend(text.bytes().map(|b| b - b' '));
        set_b.push(checksum(&set_b));
        assert!(set_c < modules(&set_b).len());
    }

    #[test]
    fn odd_digit_runs_switch_sets_only_where_it_saves_symbols() {
        // A long digit run inside letters switches to C after its first (odd) digit and back.
        assert_eq!(
            read(&modules(&values("AB1234567CD").unwrap())),
            "AB1234567CD"
        );
        let v = values("AB1234567CD").unwrap();
        assert_eq!(&v[..5], &[START_B, 33, 34, 17, CODE_C]);
        assert_eq!(&v[5..9], &[23, 45, 67, CODE_B]);
        // Two digits between letters stay in B: switching would cost more than it saves.
        assert!(!values("A12B").unwrap().contains(&CODE_C));
        // An odd all-digit text needs exactly one switch, wherever it goes.
        assert_eq!(values("12345").unwrap().len(), 1 + 4 + 1);
    }

    #[test]
    fn modules_start_with_a_start_code_and_end_with_the_stop_pattern() {
        for text in ["12345678901234567890", "EDL-42", "x"] {
            let m = modules(&values(text).unwrap());
            let first = widths_of(&m[..11]);
            assert!(first == PATTERNS[104] || first == PATTERNS[105], "{text}");
            assert_eq!(module_string(&m[m.len() - 13..]), "1100011101011");
            assert!(
                m[0] && m[m.len() - 1],
                "a symbol begins and ends with a bar"
            );
        }
    }

    #[test]
    fn non_ascii_and_control_characters_are_rejected_with_their_position() {
        assert_eq!(
            values("12é4"),
            Err(RenderError::BarcodeTextNotEncodable {
                position: 2,
                character: 'é'
            })
        );
        assert!(matches!(
            values("ab\ncd"),
            Err(RenderError::BarcodeTextNotEncodable { position: 2, .. })
        ));
        assert!(matches!(
            values("\u{7f}"),
            Err(RenderError::BarcodeTextNotEncodable { position: 0, .. })
        ));
    }

    #[test]
    fn empty_and_overlong_text_are_rejected() {
        assert_eq!(values(""), Err(RenderError::EmptyBarcodeText));
        assert!(values(&"9".repeat(MAX_TEXT_CHARS)).is_ok());
        assert_eq!(
            values(&"9".repeat(MAX_TEXT_CHARS + 1)),
            Err(RenderError::BarcodeTextTooLong {
                len: MAX_TEXT_CHARS + 1,
                max: MAX_TEXT_CHARS
            })
        );
    }

    proptest! {
        #[test]
        fn any_printable_text_reads_back(text in "[ -~]{1,48}") {
            let m = modules(&values(&text).unwrap());
            prop_assert_eq!(read(&m), text);
        }

        #[test]
        fn digit_heavy_text_reads_back_and_is_never_wider_than_set_b(text in "[0-9A]{1,48}") {
            let v = values(&text).unwrap();
            prop_assert_eq!(read(&modules(&v)), text.clone());
            // Start + one symbol per character + check: the all-B baseline.
            prop_assert!(v.len() <= text.len() + 2);
        }
    }
}
