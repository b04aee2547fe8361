//! `edl demo`: the whole presentation path on the sample e-licence, every step checked.

use std::io::IsTerminal;
use std::time::{SystemTime, UNIX_EPOCH};

use edl_core::credential::{Audience, DisclosedView};
use edl_core::crypto::TotpSeed;
use edl_core::present::render::TerminalBackground;
use edl_core::present::{DEFAULT_PERIOD, Form, payload_to_text};
use edl_core::sample;
use edl_core::verify::{OnlineCheck, Policy, Rejection, check_code, verify_offline};

/// Options of `edl demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Print the steps only (no QR drawn in the terminal); implied when stdout is not a terminal.
    #[arg(long)]
    no_tty: bool,
}

/// Runs the demo; an `Err` names the first check that did not hold.
pub fn run(args: &Args) -> Result<(), String> {
    let tty = !args.no_tty && std::io::stdout().is_terminal();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "clock before 1970")?
        .as_secs();
    let issued_at = u32::try_from(now - 60).map_err(|_| "clock beyond 2106")?;

    step("Issuing the sample e-licence with the sample authority key");
    let s = sample::issued(issued_at);
    let main = &s.licence.main;
    println!(
        "  {} · {} · classes {} · valid {} to {} · status {}",
        main.name,
        main.licence_number,
        main.classes,
        main.valid_from,
        main.valid_until,
        main.status.label_en()
    );
    let sup = &s.licence.supplementary;
    println!(
        "  points this cycle: {} of 12 ({} record entries)",
        sup.cycle.points,
        sup.record.len()
    );

    step("Offline QR for a rental firm (business view)");
    let p = s
        .holder
        .present(Form::Offline, Audience::Business, now, DEFAULT_PERIOD)
        .map_err(|e| e.to_string())?;
    println!(
        "  {} bytes, QR version {}, {} s left in this window",
        p.payload.len(),
        p.qr.version(),
        p.seconds_left
    );
    println!("  {}", payload_to_text(&p.payload));
    if tty {
        print!("{}", p.qr.to_terminal_for(TerminalBackground::Dark));
    }
    let v = verify_offline(&p.payload, &s.trust, now, &Policy::new(Audience::Business))
        .map_err(|e| format!("business verification failed: {e}"))?;
    let DisclosedView::Business(b) = &v.view else {
        return Err("expected the business view".into());
    };
    println!(
        "  ✓ verified offline: {} · {} · classes {} · status {}",
        b.name,
        b.masked_number,
        b.classes,
        b.status.label_en()
    );

    step("Offline QR for the police (enforcement view)");
    let p = s
        .holder
        .present(Form::Offline, Audience::Enforcement, now, DEFAULT_PERIOD)
        .map_err(|e| e.to_string())?;
    let v = verify_offline(
        &p.payload,
        &s.trust,
        now,
        &Policy::new(Audience::Enforcement),
    )
    .map_err(|e| format!("enforcement verification failed: {e}"))?;
    let DisclosedView::Enforcement(e) = &v.view else {
        return Err("expected the enforcement view".into());
    };
    println!(
        "  ✓ verified offline: {} bytes; address {}; {} record entries",
        p.payload.len(),
        e.licence.supplementary.address,
        e.licence.supplementary.record.len()
    );

    step("A screenshot replayed two windows later");
    let late = now + 2 * u64::from(DEFAULT_PERIOD);
    match verify_offline(
        &p.payload,
        &s.trust,
        late,
        &Policy::new(Audience::Enforcement),
    ) {
        Err(Rejection::WindowExpired) => println!("  ✓ rejected: time window expired"),
        other => return Err(format!("replay was not rejected as expired: {other:?}")),
    }

    step("Online QR, barcode and manual code (checked as the authority would)");
    let seed = TotpSeed::from_bytes(sample::TOTP_SEED);
    let online = s
        .holder
        .present(Form::Online, Audience::Business, now, DEFAULT_PERIOD)
        .map_err(|e| e.to_string())?;
    let check = OnlineCheck::from_qr(&online.payload).map_err(|e| e.to_string())?;
    check_code(&seed, &check, now).map_err(|e| format!("online QR code refused: {e}"))?;
    println!(
        "  ✓ online QR: {} bytes, version {}",
        online.payload.len(),
        online.qr.version()
    );
    let codes = s
        .holder
        .dynamic_code(Audience::Business, now, DEFAULT_PERIOD)
        .map_err(|e| e.to_string())?;
    check_code(
        &seed,
        &OnlineCheck::from_barcode(codes.barcode.text()).map_err(|e| e.to_string())?,
        now,
    )
    .map_err(|e| format!("barcode refused: {e}"))?;
    println!(
        "  ✓ barcode {} ({} modules)",
        codes.barcode.text(),
        codes.barcode.modules().len()
    );
    let manual = OnlineCheck::from_manual(&main.licence_number, &codes.manual_code)
        .map_err(|e| e.to_string())?;
    check_code(&seed, &manual, now).map_err(|e| format!("manual code refused: {e}"))?;
    println!(
        "  ✓ manual code {} ({} s left)",
        codes.manual_code, codes.manual_seconds_left
    );

    println!("\nAll checks held.");
    Ok(())
}

fn step(title: &str) {
    println!("\n▶ {title}");
}
