//! Online QR, barcode and manual code: parsed by the verifier, checked by the authority.

use edl_core::credential::Audience;
use edl_core::crypto::TotpSeed;
use edl_core::present::{Form, Window};
use edl_core::sample;
use edl_core::verify::{CodeRejection, OnlineCheck, check_code};

const NOW: u64 = 1_795_575_605;

fn seed() -> TotpSeed {
    TotpSeed::from_bytes(sample::TOTP_SEED)
}

#[test]
fn online_qr_is_a_version_1_symbol_and_checks_in_its_window() {
    let s = sample::issued(NOW as u32 - 60);
    let p = s
        .holder
        .present(Form::Online, Audience::Business, NOW, 30)
        .unwrap();
    assert_eq!(p.payload.len(), 14);
    assert_eq!(p.qr.version(), 1);
    let check = OnlineCheck::from_qr(&p.payload).unwrap();
    assert!(
        matches!(&check, OnlineCheck::Code { id, audience: Audience::Business, .. } if *id == sample::ELICENCE_ID)
    );
    assert_eq!(check_code(&seed(), &check, NOW).unwrap(), p.window);
    // Still accepted in the next window (read just before the rotation), not after.
    assert!(check_code(&seed(), &check, p.window.ends_at() + 29).is_ok());
    assert_eq!(
        check_code(&seed(), &check, p.window.ends_at() + 30),
        Err(CodeRejection::WrongCode)
    );
    // A phone a few seconds fast: accepted in the last FAST_CLOCK_SKEW seconds of the
    // window before its own, not earlier (D77).
    let skew = u64::from(edl_core::verify::FAST_CLOCK_SKEW);
    let before = p.window.starts_at() - skew;
    assert_eq!(check_code(&seed(), &check, before).unwrap(), p.window);
    assert_eq!(
        check_code(&seed(), &check, before - 1),
        Err(CodeRejection::WrongCode)
    );
    // Another e-licence's seed does not accept it.
    assert!(check_code(&TotpSeed::from_bytes([0; 32]), &check, NOW).is_err());
}

#[test]
fn audience_cannot_be_widened_by_editing_the_payload() {
    let s = sample::issued(NOW as u32 - 60);
    let mut bytes = s
        .holder
        .present(Form::Online, Audience::Business, NOW, 30)
        .unwrap()
        .payload;
    bytes[0] &= !0b11; // claim enforcement
    let check = OnlineCheck::from_qr(&bytes).unwrap();
    assert_eq!(check.audience(), Audience::Enforcement);
    assert_eq!(
        check_code(&seed(), &check, NOW),
        Err(CodeRejection::WrongCode)
    );
}

#[test]
fn barcode_and_manual_code_check_online() {
    let s = sample::issued(NOW as u32 - 60);
    let d = s
        .holder
        .dynamic_code(Audience::Enforcement, NOW, 30)
        .unwrap();
    let check = OnlineCheck::from_barcode(d.barcode.text()).unwrap();
    assert_eq!(
        check_code(&seed(), &check, NOW).unwrap(),
        Window::at(NOW, 30)
    );
    assert_eq!(d.manual_code.len(), 7);
    let typed = format!("{} {}", &d.manual_code[..1], &d.manual_code[1..]);
    let manual = OnlineCheck::from_manual(&s.licence.main.licence_number, &typed).unwrap();
    assert_eq!(manual.audience(), Audience::Enforcement);
    assert!(check_code(&seed(), &manual, NOW).is_ok());
    assert!(check_code(&seed(), &manual, NOW + 60).is_err());
}

#[test]
fn malformed_online_inputs_are_typed_errors() {
    assert!(OnlineCheck::from_qr(&[]).is_err());
    assert!(OnlineCheck::from_qr(&[0x11, 30, 0, 0]).is_err());
    assert!(OnlineCheck::from_barcode("12345").is_err());
    assert!(OnlineCheck::from_barcode(&"9".repeat(32)).is_err());
    assert!(OnlineCheck::from_barcode(&format!("1999{}", "0".repeat(28))).is_err());
    assert!(OnlineCheck::from_manual("110101199003071234", "12345").is_err());
    assert!(OnlineCheck::from_manual("110101199003071234", "3123456").is_err());
    assert!(OnlineCheck::from_manual("", "1123456").is_err());
    assert!(OnlineCheck::from_manual("110101199003071234", "1a23456").is_err());
}

/// A typed licence number is read as licence numbers are written (17 digits, then a digit
/// or X): anything else is refused before it is sent, so a verifier's slip is not counted
/// as a wrong code against it, as the UDL promises ("张三110101" was sent and counted:
/// thirtieth review). A lower-case x, as people type it, is the X the registry holds.
#[test]
fn a_typed_licence_number_not_of_the_licence_layout_is_refused_before_it_is_sent() {
    for typed in [
        "张三110101",
        "11010119900307123",
        "1101011990030712345",
        "11010119900307123Y",
    ] {
        assert!(
            OnlineCheck::from_manual(typed, "1123456").is_err(),
            "{typed}"
        );
    }
    let OnlineCheck::Manual { licence_number, .. } =
        OnlineCheck::from_manual(" 11010119900307123x ", "1123456").unwrap()
    else {
        panic!("a manual check");
    };
    assert_eq!(licence_number, "11010119900307123X");
}

/// A code past its acceptance is matched to its window by `past_window` as far back as a
/// spend at `since` could reach (D186), and never a code `check_code` still accepts,
/// another seed's, or one from before `since`'s reach.
#[test]
fn past_window_finds_an_expired_code_only_within_reach() {
    use edl_core::verify::past_window;
    let s = sample::issued(NOW as u32 - 60);
    let p = s
        .holder
        .present(Form::Online, Audience::Business, NOW, 30)
        .unwrap();
    let check = OnlineCheck::from_qr(&p.payload).unwrap();
    let accepted_until = p.window.ends_at() + 30;
    // Still accepted: not a past window's.
    assert_eq!(past_window(&seed(), &check, accepted_until - 1, 0), None);
    // Expired: found while a spend at `since` could have been within its acceptance.
    let now = accepted_until + 50;
    assert_eq!(
        past_window(&seed(), &check, now, accepted_until - 1),
        Some(p.window)
    );
    assert_eq!(past_window(&seed(), &check, now, accepted_until), None);
    assert_eq!(
        past_window(
            &TotpSeed::from_bytes([0; 32]),
            &check,
            now,
            accepted_until - 1
        ),
        None
    );
    // The manual code too, at its own period.
    let d = s.holder.dynamic_code(Audience::Business, NOW, 30).unwrap();
    let manual = OnlineCheck::from_manual(&s.licence.main.licence_number, &d.manual_code).unwrap();
    let window = Window::at(NOW, edl_core::present::MANUAL_PERIOD);
    assert!(check_code(&seed(), &manual, NOW).is_ok());
    assert_eq!(
        past_window(&seed(), &manual, window.ends_at() + 40, NOW),
        Some(window)
    );
    // However far back `since` is, the search is bounded: a code from an hour before is
    // not found.
    assert_eq!(past_window(&seed(), &check, now + 3600, 0), None);
}
