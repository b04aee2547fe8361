//! How the CLI prints a licence, a disclosed view, an online answer and the live QR. Text
//! that came from elsewhere is printed only as it shows ([`printable`]): a field cannot
//! move the cursor or break a line to forge another (the CLI review, 2026-12-05).

use std::io::Write;
use std::time::Duration;

use edl_core::credential::{Audience, DisclosedView};
use edl_core::licence::{Licence, LicenceStatus, StatusColour, printable};
use edl_core::net::OnlineAnswer;
use edl_core::present::render::TerminalBackground;
use edl_core::present::{Form, payload_to_text};
use edl_core::wallet::Wallet;
use edl_core::wire::LiveView;

/// The status label, in red on a terminal when the status is one to notice.
pub fn status(status: LicenceStatus, colour: bool) -> String {
    let label = format!("{} ({})", status.label_en(), status.letters());
    match status.colour() {
        StatusColour::Red if colour => format!("\x1b[1;31m{label}\x1b[0m"),
        StatusColour::Red => format!("{label} [red]"),
        StatusColour::Hidden => format!("{label} [not shown]"),
        StatusColour::Black => label,
    }
}

/// 主页: the main page.
pub fn main_page(l: &Licence, colour: bool) {
    let m = &l.main;
    println!("  Main page (主页)");
    println!("    licence number  {}", printable(&m.licence_number));
    println!("    name            {}", printable(&m.name));
    println!("    sex             {:?}", m.sex);
    println!("    nationality     {}", printable(&m.nationality));
    println!("    date of birth   {}", m.date_of_birth);
    println!("    classes         {}", m.classes);
    println!("    first issued    {}", m.first_issue);
    println!("    valid           {} to {}", m.valid_from, m.valid_until);
    println!("    status          {}", status(m.status, colour));
}

/// 副页: the supplementary page.
pub fn supplementary_page(l: &Licence) {
    let s = &l.supplementary;
    println!("  Supplementary page (副页)");
    println!("    address         {}", printable(&s.address));
    println!("    issued by       {}", printable(&s.issuing_authority));
    println!(
        "    points          {} of 12 (cycle {} to {})",
        s.cycle.points, s.cycle.start, s.cycle.end
    );
    if s.record.is_empty() {
        println!("    record          none");
    }
    for r in &s.record {
        println!(
            "    record          {} · {} · {} · {} points · ¥{}{}",
            r.date,
            printable(&r.place),
            printable(&r.act),
            r.points,
            r.fine_yuan,
            if r.handled { " · handled" } else { "" }
        );
    }
}

/// What an offline verifier sees.
pub fn disclosed(view: &DisclosedView, colour: bool) {
    match view {
        DisclosedView::Enforcement(e) => {
            println!("  enforcement view: both pages");
            main_page(&e.licence, colour);
            supplementary_page(&e.licence);
        }
        DisclosedView::Business(b) => {
            println!("  business view: qualification only");
            println!("    name            {}", printable(&b.name));
            println!("    licence number  {}", printable(&b.masked_number));
            println!("    classes         {}", b.classes);
            println!("    valid           {} to {}", b.valid_from, b.valid_until);
            println!("    status          {}", status(b.status, colour));
        }
    }
}

/// What an online verifier sees.
pub fn online(online: &OnlineAnswer, colour: bool) {
    let r = &online.answer;
    match &r.not_in_force_reason {
        None if r.in_force => println!("  in force: yes"),
        None => println!("  in force: no"),
        Some(reason) => println!("  in force: no ({reason})"),
    }
    match &r.view {
        LiveView::Enforcement { licence } => {
            println!("  enforcement view: both pages, live");
            main_page(licence, colour);
            supplementary_page(licence);
        }
        LiveView::Business { qualification: q } => {
            println!("  business view: qualification only, live");
            println!("    name            {}", printable(&q.name));
            println!("    licence number  {}", printable(&q.masked_number));
            println!("    classes         {}", q.classes);
            println!("    valid           {} to {}", q.valid_from, q.valid_until);
            println!("    status          {}", status(q.status, colour));
        }
    }
    // Fetched by its digest after the check and checked against it (D92).
    println!(
        "  photo for face matching: {} bytes, SHA-256 {}… checked",
        online.photo.len(),
        &hex::encode(r.photo_digest)[..16]
    );
}

/// A spinner on stderr while `work` runs (terminal only), so a slow network shows life.
pub fn with_spinner<T>(label: &str, tty: bool, work: impl FnOnce() -> T) -> T {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    if !tty {
        return work();
    }
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    let label = label.to_owned();
    let spinner = std::thread::spawn(move || {
        let frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        let mut i = 0;
        while !flag.load(Ordering::Relaxed) {
            eprint!("\r{} {label}…", frames[i % frames.len()]);
            i += 1;
            std::thread::sleep(std::time::Duration::from_millis(80));
        }
        eprint!("\r\x1b[2K");
    });
    let out = work();
    done.store(true, Ordering::Relaxed);
    let _ = spinner.join();
    out
}

/// The online QR as the app shows it: redrawn each second with a countdown bar, for
/// `live_secs` (terminal only); the payload text otherwise. (`edl demo`'s step 9.)
pub fn live_qr(wallet: &Wallet, tty: bool, live_secs: u64) -> Result<(), String> {
    let first = wallet
        .present(Form::Online, Audience::Enforcement, None)
        .map_err(|e| format!("present: {e}"))?;
    println!(
        "  online QR: {} bytes, version {}, payload {}",
        first.payload.len(),
        first.qr.version(),
        payload_to_text(&first.payload)
    );
    if !tty {
        println!("  (live QR skipped: not a terminal)");
        return Ok(());
    }
    let mut out = std::io::stdout();
    let mut lines = 0usize;
    for _ in 0..live_secs.max(1) {
        let p = wallet
            .present(Form::Online, Audience::Enforcement, None)
            .map_err(|e| format!("present: {e}"))?;
        let codes = wallet
            .dynamic_code(Audience::Enforcement, None)
            .map_err(|e| format!("code: {e}"))?;
        if lines > 0 {
            // Back to the top of the previous frame.
            let _ = write!(out, "\x1b[{lines}A");
        }
        let qr = p.qr.to_terminal_for(TerminalBackground::Dark);
        let period = p.window.period.max(1);
        let filled = (p.seconds_left * 30 / period) as usize;
        let frame = format!(
            "{qr}  [{}{}] {:>2} s   manual code {}\n",
            "█".repeat(filled),
            "░".repeat(30 - filled.min(30)),
            p.seconds_left,
            codes.manual_code
        );
        lines = frame.lines().count();
        let _ = write!(out, "{frame}");
        let _ = out.flush();
        std::thread::sleep(Duration::from_secs(1));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suspended_status_is_red_on_a_terminal_and_marked_elsewhere() {
        let d: LicenceStatus = serde_json::from_value(serde_json::json!("D")).unwrap();
        assert!(status(d, true).contains("\x1b[1;31m"));
        assert!(status(d, false).ends_with("[red]"));
        let a: LicenceStatus = serde_json::from_value(serde_json::json!("A")).unwrap();
        assert!(!status(a, true).contains('\x1b'));
    }
}
