"""What changes after the e-licence is issued, through the generated Python module and the
authority bindings/test.sh runs on loopback: a photo change (and the busy answer at peak
hours), a suspension, the verification log, and app callbacks that throw."""

import asyncio
import hashlib
import pathlib

import pytest

from edl import (
    ApplicationPhase,
    Audience,
    CheckMethod,
    CheckOutcome,
    EdlError,
    IdentityProvider,
    LogLevel,
    Logger,
    MessageKind,
    OnlineVerifier,
    PhotoSource,
    PresentationForm,
    RefusalReason,
    StatusColour,
    UploadProgress,
    Verifier,
    VerifierClass,
    Wallet,
    WalletEvent,
    WalletObserver,
    error_text,
    key_file_key_store,
    set_logger,
)
from test_online_verifier import api_key
from test_wallet import (
    PHOTO,
    URL,
    Events,
    HmacIdentity,
    activation_code,
    admin,
    create_driver,
    number,
    trust_list,
)

pytestmark = pytest.mark.skipif(URL is None, reason="needs the authority (bindings/test.sh)")

MIRRORED = PHOTO.with_name("clean_mirrored.jpg")


def issued(tmp_path, **licence):
    """A wallet whose e-licence is issued (the photo was on file), and its registry id;
    `licence` overrides fields of the licence as `create_driver` does."""
    n = number()
    driver = create_driver(n, photo_on_file=True, **licence)
    wallet = Wallet(str(tmp_path / "wallet"), key_file_key_store(str(tmp_path / "key")))

    async def enrol_and_apply():
        await wallet.enrol(URL, n, activation_code(driver))
        return await wallet.apply(HmacIdentity())

    assert asyncio.run(enrol_and_apply()).phase == ApplicationPhase.ISSUED
    return wallet, driver


def of_kind(events, kind):
    return [e for e in events if isinstance(e, kind)]


def test_a_photo_change_is_reviewed_and_arrives_as_a_re_signed_e_licence(tmp_path, observe):
    wallet, _ = issued(tmp_path)
    events = Events()
    observe(wallet, events)
    before = wallet.main_page().photo_digest_hex

    async def change():
        return await wallet.change_photo(MIRRORED.read_bytes(), PhotoSource.CAMERA, None)

    accepted = asyncio.run(change())
    # Until the review, the e-licence in hand keeps working.
    assert accepted.application.phase == ApplicationPhase.ISSUED
    assert accepted.application.pending_review.photo_id == accepted.photo_id
    wallet.present(PresentationForm.OFFLINE, Audience.BUSINESS)
    assert of_kind(events.events, WalletEvent.APPLICATION_CHANGED)

    admin("POST", f"/admin/reviews/{accepted.photo_id}/approve")
    report = asyncio.run(wallet.sync())
    assert report.elicence_changed
    after = wallet.main_page().photo_digest_hex
    assert after != before
    assert after == hashlib.sha256(wallet.photo()).hexdigest()
    assert any(m.kind == MessageKind.PHOTO_CHANGED for m in wallet.messages())
    assert of_kind(events.events, WalletEvent.ELICENCE_CHANGED)
    assert wallet.application().pending_review is None
    # The QR shown from now on carries the new photo's digest.
    qr = wallet.present(PresentationForm.OFFLINE, Audience.BUSINESS).payload
    view = Verifier(trust_list(), Audience.BUSINESS).verify_offline(qr, wallet.now_unix())
    assert after.startswith(view.disclosed.view.photo_digest_hex)


def test_a_photo_change_needs_an_issued_e_licence_and_waits_out_peak_hours(tmp_path):
    fresh = Wallet(str(tmp_path / "fresh"), key_file_key_store(str(tmp_path / "key")))
    with pytest.raises(EdlError.NoElicence):
        asyncio.run(fresh.change_photo(MIRRORED.read_bytes(), PhotoSource.ALBUM, None))

    wallet, _ = issued(tmp_path)
    admin("PUT", "/admin/settings/busy", {"retry_after": 600})
    try:
        with pytest.raises(EdlError.Busy) as e:
            asyncio.run(wallet.change_photo(MIRRORED.read_bytes(), PhotoSource.ALBUM, None))
        assert e.value.retry_after_secs == 600
    finally:
        admin("PUT", "/admin/settings/busy", {"retry_after": None})
    assert wallet.application().pending_review is None
    asyncio.run(wallet.change_photo(MIRRORED.read_bytes(), PhotoSource.ALBUM, None))


def test_a_suspension_turns_the_status_red_and_the_observer_hears_it(tmp_path, observe):
    wallet, driver = issued(tmp_path)
    events = Events()
    observe(wallet, events)
    admin("PUT", f"/admin/drivers/{driver}/status", {"status": "D"})
    report = asyncio.run(wallet.sync())
    assert report.licence_changed
    assert wallet.status_colour() == StatusColour.RED
    changed = of_kind(events.events, WalletEvent.LICENCE_CHANGED)
    assert changed and changed[-1].colour == StatusColour.RED
    assert wallet.main_page().status.letters == "D"


def test_a_verifiers_check_reaches_the_drivers_verification_log(tmp_path, observe):
    wallet, _ = issued(tmp_path)
    events = Events()
    observe(wallet, events)
    insurer = OnlineVerifier(URL, api_key("人保财险", "insurer"))
    qr = wallet.present(PresentationForm.ONLINE, Audience.BUSINESS).payload
    asyncio.run(insurer.verify_qr(qr))
    report = asyncio.run(wallet.sync())
    assert report.verifications >= 1
    entry = wallet.verification_log()[-1]
    assert entry.verifier == "人保财险"
    assert entry.verifier_class == VerifierClass.INSURER
    assert entry.method == CheckMethod.QR
    assert entry.outcome == CheckOutcome.VERIFIED
    assert entry.audience == Audience.BUSINESS
    assert of_kind(events.events, WalletEvent.NEW_VERIFICATIONS)


class Boom(Exception):
    """What a buggy app callback throws."""


class ThrowingObserver(WalletObserver):
    """Throws on the first event, then records the rest."""

    def __init__(self):
        self.calls = 0
        self.after_throw = []

    def on_event(self, event):
        self.calls += 1
        if self.calls == 1:
            raise Boom("observer bug")
        self.after_throw.append(event)


class ThrowingProgress(UploadProgress):
    def on_stage(self, stage, fraction):
        raise Boom("progress bar bug")


class ThrowingIdentity(IdentityProvider):
    def attest(self, challenge, licence_number):
        raise Boom("face SDK crashed")


class ThrowingLogger(Logger):
    def __init__(self):
        self.calls = 0

    def log(self, level, target, message):
        self.calls += 1
        raise Boom("logger bug")


def test_callbacks_that_throw_never_fail_or_undo_the_call(tmp_path, observe):
    n = number()
    driver = create_driver(n)
    wallet = Wallet(str(tmp_path / "w"), key_file_key_store(str(tmp_path / "key")))
    observer = ThrowingObserver()
    observe(wallet, observer)
    logger = ThrowingLogger()
    set_logger(logger, LogLevel.INFO)
    try:

        async def flow():
            await wallet.enrol(URL, n, activation_code(driver))
            # A face SDK that throws has not attested: a typed refusal, nothing else.
            with pytest.raises(EdlError.Refused) as e:
                await wallet.apply(ThrowingIdentity())
            assert e.value.reason == RefusalReason.IDENTITY_CHECK_FAILED
            await wallet.apply(HmacIdentity())
            accepted = await wallet.submit_photo(
                PHOTO.read_bytes(), PhotoSource.ALBUM, ThrowingProgress()
            )
            admin("POST", f"/admin/reviews/{accepted.photo_id}/approve")
            return await wallet.sync()

        report = asyncio.run(flow())
    finally:
        set_logger(None, LogLevel.INFO)
    assert report.elicence_changed
    assert wallet.application().phase == ApplicationPhase.ISSUED
    assert observer.calls > 1 and observer.after_throw
    assert of_kind(observer.after_throw, WalletEvent.ELICENCE_CHANGED)
    assert logger.calls > 0


class Records(Logger):
    def __init__(self):
        self.records = []

    def log(self, level, target, message):
        self.records.append(message)


class TellingIdentity(IdentityProvider):
    """A face SDK wrapper whose error quotes the licence number it was given."""

    def attest(self, challenge, licence_number):
        raise EdlError.InvalidArgument(f"face check of {licence_number} failed")


def test_what_an_app_callback_throws_reaches_the_log_without_its_text(tmp_path):
    # The app's text is its own and may quote what the driver typed: the log line names
    # the error's kind only (thirtieth review: a licence number reached the log).
    n = number()
    driver = create_driver(n)
    wallet = Wallet(str(tmp_path / "w"), key_file_key_store(str(tmp_path / "key")))
    records = Records()
    set_logger(records, LogLevel.INFO)
    try:

        async def flow():
            await wallet.enrol(URL, n, activation_code(driver))
            with pytest.raises(EdlError.Refused):
                await wallet.apply(TellingIdentity())

        asyncio.run(flow())
    finally:
        set_logger(None, LogLevel.INFO)
    assert any("IdentityProvider threw InvalidArgument" in r for r in records.records), records.records
    assert not any(n in r for r in records.records), records.records


def test_a_store_held_by_another_process_is_store_busy_and_loses_nothing(tmp_path):
    # A widget, an extension or a backup tool holding wallet.db: the call waits its 5 s,
    # then says so in a variant the app can act on, where it said Internal, "a fault
    # inside this library: report it" (thirtieth review, AK-F52).
    # Another process: SQLite's file locks are a process's own, so a connection in this
    # one would not hold the library's out.
    import subprocess
    import sys

    wallet = Wallet(str(tmp_path / "w"), key_file_key_store(str(tmp_path / "key")))
    root = "58" + "66" * 31
    hold = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE')\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(tmp_path / "w" / "wallet.db")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(EdlError.StoreBusy):
            wallet.pin_root_text(root)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    assert error_text(EdlError.StoreBusy()).en.startswith("The wallet is in use")
    wallet.pin_root_text(root)
    assert not wallet.is_enrolled()
