//! `edl demo --no-tty` runs the whole flow to completion, as CI runs it.

use std::process::Command;

#[test]
fn demo_without_a_terminal_runs_every_step_and_exits_zero() {
    let out = Command::new(env!("CARGO_BIN_EXE_edl"))
        .args(["demo", "--no-tty"])
        .output()
        .expect("edl runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("All checks held."));
    assert!(stdout.contains("old QR rejected"));
    // The offline scanner refreshed its signed lists and refused the suspended licence.
    assert!(stdout.contains("in force on the status list"), "{stdout}");
    assert!(
        stdout.contains("the police officer's offline scanner refreshes its lists"),
        "{stdout}"
    );
    assert!(
        stdout.contains("refuses the suspended licence's offline QR: e-licence suspended"),
        "{stdout}"
    );
    // No ANSI colour when stdout is not a terminal.
    assert!(!stdout.contains('\x1b'));
}
