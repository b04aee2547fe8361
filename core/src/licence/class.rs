//! Vehicle classes (准驾车型) and sets of them.
//!
//! The codes, meanings and implications follow the table of 《机动车驾驶证申领和使用规定》
//! (公安部令第162号, in force since 2022-04-01, which added C6).

use std::fmt;
use std::str::FromStr;

use super::error::LicenceError;

/// A vehicle class (准驾车型) a licence can grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VehicleClass {
    /// 大型客车: large bus.
    A1,
    /// 重型牵引挂车: heavy tractor-trailer.
    A2,
    /// 城市公交车: city bus.
    A3,
    /// 中型客车: medium bus.
    B1,
    /// 大型货车: large truck.
    B2,
    /// 小型汽车: small car.
    C1,
    /// 小型自动挡汽车: small automatic car.
    C2,
    /// 低速载货汽车: low-speed truck.
    C3,
    /// 三轮汽车: three-wheeled car.
    C4,
    /// 残疾人专用小型自动挡载客汽车: small automatic passenger car for disabled drivers.
    C5,
    /// 轻型牵引挂车: light tractor-trailer.
    C6,
    /// 普通三轮摩托车: three-wheeled motorcycle.
    D,
    /// 普通二轮摩托车: two-wheeled motorcycle.
    E,
    /// 轻便摩托车: moped.
    F,
    /// 轮式专用机械车: wheeled special machinery.
    M,
    /// 无轨电车: trolleybus.
    N,
    /// 有轨电车: tram.
    P,
}

use VehicleClass::*;

impl VehicleClass {
    /// Every class, in bit order.
    pub const ALL: [Self; 17] = [A1, A2, A3, B1, B2, C1, C2, C3, C4, C5, C6, D, E, F, M, N, P];

    /// The code printed on the card, e.g. "C1".
    pub const fn code(self) -> &'static str {
        match self {
            A1 => "A1",
            A2 => "A2",
            A3 => "A3",
            B1 => "B1",
            B2 => "B2",
            C1 => "C1",
            C2 => "C2",
            C3 => "C3",
            C4 => "C4",
            C5 => "C5",
            C6 => "C6",
            D => "D",
            E => "E",
            F => "F",
            M => "M",
            N => "N",
            P => "P",
        }
    }

    /// Parses a code exactly as printed ("C1", upper case, no spaces).
    pub fn from_code(code: &str) -> Result<Self, LicenceError> {
        Self::ALL
            .into_iter()
            .find(|class| class.code() == code)
            .ok_or(LicenceError::UnknownClassCode)
    }

    /// The official Chinese name of the class (车型名称), e.g. "小型汽车".
    pub const fn meaning(self) -> &'static str {
        match self {
            A1 => "大型客车",
            A2 => "重型牵引挂车",
            A3 => "城市公交车",
            B1 => "中型客车",
            B2 => "大型货车",
            C1 => "小型汽车",
            C2 => "小型自动挡汽车",
            C3 => "低速载货汽车",
            C4 => "三轮汽车",
            C5 => "残疾人专用小型自动挡载客汽车",
            C6 => "轻型牵引挂车",
            D => "普通三轮摩托车",
            E => "普通二轮摩托车",
            F => "轻便摩托车",
            M => "轮式专用机械车",
            N => "无轨电车",
            P => "有轨电车",
        }
    }

    /// An English gloss of [`meaning`](Self::meaning); not an official translation.
    pub const fn meaning_en(self) -> &'static str {
        match self {
            A1 => "Large bus",
            A2 => "Heavy tractor-trailer",
            A3 => "City bus",
            B1 => "Medium bus",
            B2 => "Large truck",
            C1 => "Small car",
            C2 => "Small automatic car",
            C3 => "Low-speed truck",
            C4 => "Three-wheeled car",
            C5 => "Small automatic car for disabled drivers",
            C6 => "Light tractor-trailer",
            D => "Three-wheeled motorcycle",
            E => "Two-wheeled motorcycle",
            F => "Moped",
            M => "Wheeled special machinery",
            N => "Trolleybus",
            P => "Tram",
        }
    }

    /// The class's bit in a [`ClassSet`]: 0 for A1 up to 16 for P, in declaration order.
    ///
    /// This is a wire format and is frozen: signed credentials carry these bits, so a class
    /// must never be renumbered, and a new class may only take bit 17 or above.
    pub const fn bit(self) -> u8 {
        self as u8
    }

    /// The class whose [`bit`](Self::bit) is `bit`, if any.
    pub const fn from_bit(bit: u8) -> Option<Self> {
        if (bit as usize) < Self::ALL.len() {
            Some(Self::ALL[bit as usize])
        } else {
            None
        }
    }

    /// The classes this one also permits (准驾的其他准驾车型), as listed in the regulation.
    ///
    /// The list is direct, not transitive; [`ClassSet::permitted`] closes over it.
    pub const fn implied(self) -> &'static [Self] {
        match self {
            A1 => &[A3, B1, B2, C1, C2, C3, C4, M],
            // Order 162 added C6 to A2's list when it created C6; older tables (Order 123)
            // end at M. We follow the current table.
            A2 => &[B1, B2, C1, C2, C3, C4, C6, M],
            A3 => &[C1, C2, C3, C4],
            B1 | B2 => &[C1, C2, C3, C4, M],
            // C1 does not include C5 or C6: both need their own application.
            C1 => &[C2, C3, C4],
            C3 => &[C4],
            D => &[E, F],
            E => &[F],
            C2 | C4 | C5 | C6 | F | M | N | P => &[],
        }
    }
}

impl fmt::Display for VehicleClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for VehicleClass {
    type Err = LicenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s)
    }
}

/// A set of vehicle classes, stored as a bitmask of [`VehicleClass::bit`]s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ClassSet(u32);

impl ClassSet {
    /// Bits that name a class; every other bit is invalid.
    const VALID_BITS: u32 = (1 << VehicleClass::ALL.len()) - 1;

    /// The empty set.
    pub const EMPTY: Self = Self(0);

    /// The set's bitmask (bit `n` set means the class with [`VehicleClass::bit`] `n`).
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The set with the given bitmask; rejects bits that name no class, so a decoded
    /// credential cannot smuggle in a class this version does not know.
    pub const fn from_bits(bits: u32) -> Result<Self, LicenceError> {
        if bits & !Self::VALID_BITS == 0 {
            Ok(Self(bits))
        } else {
            Err(LicenceError::UnknownClassBits)
        }
    }

    /// Whether `class` is held directly (not counting implied classes; see
    /// [`permits`](Self::permits)).
    pub const fn contains(self, class: VehicleClass) -> bool {
        self.0 & (1 << class.bit()) != 0
    }

    /// Adds `class`; returns whether it was new.
    pub fn insert(&mut self, class: VehicleClass) -> bool {
        let new = !self.contains(class);
        self.0 |= 1 << class.bit();
        new
    }

    /// Number of classes held directly.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether no class is held.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The classes held directly, in bit order.
    pub fn iter(self) -> impl Iterator<Item = VehicleClass> {
        VehicleClass::ALL
            .into_iter()
            .filter(move |class| self.contains(*class))
    }

    /// Every class the holder may drive: the held classes and, transitively, all they imply.
    pub fn permitted(self) -> Self {
        let mut all = self;
        // Implication chains are at most a few steps deep (A1 → A3 → C1 → C3 → C4); iterate to
        // a fixed point rather than rely on the table listing every transitive class.
        loop {
            let next: Self = all
                .iter()
                .flat_map(|class| class.implied().iter().copied())
                .chain(all.iter())
                .collect();
            if next == all {
                return all;
            }
            all = next;
        }
    }

    /// Whether the holder may drive `class`, held directly or implied by a held class.
    pub fn permits(self, class: VehicleClass) -> bool {
        self.permitted().contains(class)
    }

    /// The codes run together as printed on the physical card, e.g. "C1D".
    pub fn compact(self) -> String {
        self.iter().map(VehicleClass::code).collect()
    }
}

impl FromIterator<VehicleClass> for ClassSet {
    fn from_iter<I: IntoIterator<Item = VehicleClass>>(iter: I) -> Self {
        let mut set = Self::EMPTY;
        for class in iter {
            set.insert(class);
        }
        set
    }
}

impl fmt::Display for ClassSet {
    /// Codes in bit order separated by one space, e.g. "A2 D"; the empty set is "".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, class) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(class.code())?;
        }
        Ok(())
    }
}

impl FromStr for ClassSet {
    type Err = LicenceError;

    /// Parses "A2D" (as printed on the card), "A2 D" (the [`Display`](fmt::Display) form) or
    /// "C1,D" / "C1, D". Codes may come in any order but not twice; codes are upper case.
    /// An empty or all-blank string is the empty set.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.as_bytes();
        let mut set = Self::EMPTY;
        let mut i = skip_spaces(bytes, 0);
        if i == bytes.len() {
            return Ok(set);
        }
        loop {
            let (class, next) = class_at(bytes, i)?;
            if !set.insert(class) {
                return Err(LicenceError::DuplicateClass);
            }
            i = skip_spaces(bytes, next);
            if i == bytes.len() {
                return Ok(set);
            }
            if bytes[i] == b',' {
                // A comma must be followed by another code: "C1," is a truncated list.
                i = skip_spaces(bytes, i + 1);
                if i == bytes.len() {
                    return Err(LicenceError::MalformedClassList { at: i });
                }
            }
        }
    }
}

fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i) == Some(&b' ') {
        i += 1;
    }
    i
}

/// The class whose code starts at byte `i`, and the offset just after it.
fn class_at(bytes: &[u8], i: usize) -> Result<(VehicleClass, usize), LicenceError> {
    let malformed = LicenceError::MalformedClassList { at: i };
    let letter = *bytes.get(i).ok_or(malformed)?;
    let (code_len, class) = match letter {
        // A, B and C always carry a digit; no code is a bare A, B or C.
        b'A' | b'B' | b'C' => {
            let digit = *bytes.get(i + 1).ok_or(malformed)?;
            let class = match (letter, digit) {
                (b'A', b'1') => A1,
                (b'A', b'2') => A2,
                (b'A', b'3') => A3,
                (b'B', b'1') => B1,
                (b'B', b'2') => B2,
                (b'C', b'1') => C1,
                (b'C', b'2') => C2,
                (b'C', b'3') => C3,
                (b'C', b'4') => C4,
                (b'C', b'5') => C5,
                (b'C', b'6') => C6,
                _ => return Err(malformed),
            };
            (2, class)
        }
        b'D' => (1, D),
        b'E' => (1, E),
        b'F' => (1, F),
        b'M' => (1, M),
        b'N' => (1, N),
        b'P' => (1, P),
        _ => return Err(malformed),
    };
    Ok((class, i + code_len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(codes: &[VehicleClass]) -> ClassSet {
        codes.iter().copied().collect()
    }

    #[test]
    fn bits_follow_declaration_order_and_are_frozen() {
        let bits: Vec<u8> = VehicleClass::ALL.iter().map(|c| c.bit()).collect();
        assert_eq!(bits, (0..=16).collect::<Vec<u8>>());
        assert_eq!(A1.bit(), 0);
        assert_eq!(C1.bit(), 5);
        assert_eq!(C6.bit(), 10);
        assert_eq!(P.bit(), 16);
        for class in VehicleClass::ALL {
            assert_eq!(VehicleClass::from_bit(class.bit()), Some(class));
        }
        assert_eq!(VehicleClass::from_bit(17), None);
    }

    #[test]
    fn codes_round_trip_and_unknown_codes_are_rejected() {
        for class in VehicleClass::ALL {
            assert_eq!(VehicleClass::from_code(class.code()), Ok(class));
            assert_eq!(class.to_string().parse::<VehicleClass>(), Ok(class));
        }
        for bad in ["", "A", "A4", "c1", "C7", "G", "C1 ", " D", "DD"] {
            assert_eq!(
                VehicleClass::from_code(bad),
                Err(LicenceError::UnknownClassCode),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn meanings_match_the_regulation() {
        assert_eq!(A1.meaning(), "大型客车");
        assert_eq!(A2.meaning(), "重型牵引挂车");
        assert_eq!(C1.meaning(), "小型汽车");
        assert_eq!(C6.meaning(), "轻型牵引挂车");
        assert_eq!(F.meaning(), "轻便摩托车");
        assert_eq!(C1.meaning_en(), "Small car");
        assert!(VehicleClass::ALL.iter().all(|c| !c.meaning_en().is_empty()));
    }

    #[test]
    fn a1_permits_c1_and_m_but_not_a2_or_d() {
        let a1 = set(&[A1]);
        assert!(a1.permits(A1));
        assert!(a1.permits(C1));
        assert!(a1.permits(M));
        assert!(!a1.permits(A2));
        assert!(!a1.permits(D));
        assert!(!a1.permits(C5));
    }

    #[test]
    fn c1_permits_c2_c3_c4_but_nothing_above_or_beside_it() {
        let c1 = set(&[C1]);
        for class in [C1, C2, C3, C4] {
            assert!(c1.permits(class), "{class}");
        }
        for class in [A1, A3, B1, B2, C5, C6, D, E, F, M] {
            assert!(!c1.permits(class), "{class}");
        }
    }

    #[test]
    fn c2_c5_c6_and_f_permit_only_themselves() {
        for class in [C2, C4, C5, C6, F, M, N, P] {
            assert_eq!(set(&[class]).permitted(), set(&[class]), "{class}");
        }
    }

    #[test]
    fn a2_permits_c6_under_the_current_table() {
        let a2 = set(&[A2]);
        assert!(a2.permits(C6));
        assert!(a2.permits(B1));
        assert!(!a2.permits(A3));
    }

    #[test]
    fn implication_is_transitive() {
        // A1 → A3 → C1 → C3 → C4 and D → E → F.
        assert_eq!(
            set(&[A1]).permitted(),
            set(&[A1, A3, B1, B2, C1, C2, C3, C4, M])
        );
        assert_eq!(set(&[D]).permitted(), set(&[D, E, F]));
        // Every implied class's own implications are also permitted.
        for class in VehicleClass::ALL {
            let permitted = set(&[class]).permitted();
            for implied in permitted.iter() {
                for further in implied.implied() {
                    assert!(
                        permitted.contains(*further),
                        "{class} → {implied} → {further}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_motorcycle_class_never_permits_a_car_class() {
        for class in [D, E, F] {
            let permitted = set(&[class]).permitted();
            assert!(permitted.iter().all(|c| matches!(c, D | E | F)));
        }
    }

    #[test]
    fn display_lists_codes_in_bit_order_with_spaces() {
        assert_eq!(set(&[D, A2]).to_string(), "A2 D");
        assert_eq!(set(&[C1]).to_string(), "C1");
        assert_eq!(ClassSet::EMPTY.to_string(), "");
        assert_eq!(set(&[D, C1]).compact(), "C1D");
    }

    #[test]
    fn parses_card_display_and_comma_forms() {
        let a2d = set(&[A2, D]);
        for s in ["A2D", "A2 D", "A2,D", "A2, D", "A2 , D", " A2D ", "DA2"] {
            assert_eq!(s.parse::<ClassSet>(), Ok(a2d), "{s:?}");
        }
        assert_eq!("C1D".parse::<ClassSet>(), Ok(set(&[C1, D])));
        assert_eq!("".parse::<ClassSet>(), Ok(ClassSet::EMPTY));
        assert_eq!(
            "A1A2A3B1B2C1C2C3C4C5C6DEFMNP".parse::<ClassSet>(),
            Ok(VehicleClass::ALL.into_iter().collect())
        );
    }

    #[test]
    fn garbage_class_lists_are_rejected_with_a_position() {
        let cases = [
            ("C1X", 2),
            ("C", 0),
            ("A4", 0),
            ("c1", 0),
            ("C1,", 3),
            (",C1", 0),
            ("C1,,D", 3),
            ("C1;D", 2),
            ("C1\tD", 2),
            ("小型汽车", 0),
            ("C1 D E7", 6),
        ];
        for (s, at) in cases {
            assert_eq!(
                s.parse::<ClassSet>(),
                Err(LicenceError::MalformedClassList { at }),
                "{s:?}"
            );
        }
        assert_eq!(
            "C1 C1".parse::<ClassSet>(),
            Err(LicenceError::DuplicateClass)
        );
    }

    #[test]
    fn from_bits_rejects_unknown_bits() {
        assert_eq!(ClassSet::from_bits(0), Ok(ClassSet::EMPTY));
        assert_eq!(ClassSet::from_bits(1 << C1.bit()), Ok(set(&[C1])));
        assert_eq!(
            ClassSet::from_bits(1 << 17),
            Err(LicenceError::UnknownClassBits)
        );
        assert_eq!(
            ClassSet::from_bits(u32::MAX),
            Err(LicenceError::UnknownClassBits)
        );
    }

    #[test]
    fn iter_is_in_bit_order() {
        let classes: Vec<_> = set(&[P, C1, A1, D]).iter().collect();
        assert_eq!(classes, vec![A1, C1, D, P]);
        assert_eq!(set(&[P, C1]).len(), 2);
    }

    proptest! {
        #[test]
        fn from_bits_never_panics_and_round_trips(bits in any::<u32>()) {
            match ClassSet::from_bits(bits) {
                Ok(set) => prop_assert_eq!(set.bits(), bits),
                Err(e) => prop_assert_eq!(e, LicenceError::UnknownClassBits),
            }
        }

        #[test]
        fn every_valid_set_round_trips_through_its_string_forms(bits in 0u32..(1 << 17)) {
            let set = ClassSet::from_bits(bits).unwrap();
            prop_assert_eq!(set.to_string().parse::<ClassSet>(), Ok(set));
            prop_assert_eq!(set.compact().parse::<ClassSet>(), Ok(set));
            let commas = set.iter().map(VehicleClass::code).collect::<Vec<_>>().join(",");
            prop_assert_eq!(commas.parse::<ClassSet>(), Ok(set));
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(s in ".*") {
            let _ = s.parse::<ClassSet>();
        }

        #[test]
        fn parsing_class_like_text_never_panics(s in "[A-F1-7MNP ,]{0,12}") {
            if let Ok(set) = s.parse::<ClassSet>() {
                prop_assert_eq!(set.to_string().parse::<ClassSet>(), Ok(set));
            }
        }
    }
}
