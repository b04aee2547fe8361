"""The driver's Wallet through the generated Python module, against the real authority
that bindings/test.sh starts on loopback (EDL_AUTHORITY_URL, EDL_ADMIN_TOKEN,
EDL_IDENTITY_SECRET): enrol, apply, photo, approval, sync, offline presentation checked by
the Verifier, and typed errors."""

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import os
import pathlib
import urllib.error
import urllib.request

import pytest

from edl import (
    ApplicationPhase,
    Audience,
    EdlError,
    IdentityProvider,
    KeyStore,
    KeyStoreFailure,
    PhotoSource,
    PresentationForm,
    RefusalReason,
    UploadProgress,
    UploadStage,
    LogLevel,
    Logger,
    Verifier,
    Wallet,
    WalletEvent,
    WalletObserver,
    key_file_key_store,
    load_face_model,
    set_logger,
    software_key_store,
)

URL = os.environ.get("EDL_AUTHORITY_URL")
TOKEN = os.environ.get("EDL_ADMIN_TOKEN", "")
SECRET = os.environ.get("EDL_IDENTITY_SECRET", "").encode()
PHOTO = pathlib.Path(os.environ.get("EDL_PHOTO", "core/tests/photos/clean.jpg"))
FACE_MODEL = pathlib.Path(
    os.environ.get("EDL_FACE_MODEL", "core/models/seeta_fd_frontal_v1.0.bin")
)

pytestmark = pytest.mark.skipif(URL is None, reason="needs the authority (bindings/test.sh)")

# Licence numbers distinct from the Kotlin suite's (9xxx), one per test.
_numbers = itertools.count(1)


def number() -> str:
    return f"11010119900307{next(_numbers) + 5000:04d}"


def admin(method: str, path: str, body=None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(URL + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {TOKEN}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read() or b"{}")


def create_driver(licence_number: str, photo_on_file: bool = False, **licence) -> int:
    """A new driver; with `photo_on_file` the office holds an approved photo, so applying
    issues the e-licence at once. `licence` overrides fields of the licence, e.g.
    `valid_from="2036-01-01"`."""
    photo = {"photo": base64.b64encode(PHOTO.read_bytes()).decode()} if photo_on_file else {}
    return admin(
        "POST",
        "/admin/drivers",
        {
            **photo,
            "licence_number": licence_number,
            "name": "张三",
            "sex": "male",
            "nationality": "中国",
            "date_of_birth": "1990-03-07",
            "classes": "C1",
            "first_issue": "2012-03-07",
            "valid_from": "2018-03-07",
            "valid_until": "2036-03-07",
            "address": "北京市东城区测试路1号",
            "issuing_authority": "北京市公安局公安交通管理局",
            **licence,
        },
    )["driver_id"]


@pytest.fixture(autouse=True, scope="module")
def face_model():
    """As an app does at start-up: the library ships without the face model built in."""
    load_face_model(FACE_MODEL.read_bytes())


def test_only_the_shipped_face_model_loads():
    load_face_model(FACE_MODEL.read_bytes())
    with pytest.raises(EdlError.InvalidArgument) as e:
        load_face_model(PHOTO.read_bytes())
    assert "face model" in str(e.value)


def activation_code(driver_id: int) -> str:
    return admin("POST", f"/admin/drivers/{driver_id}/activation-code")["code"]


class HmacIdentity(IdentityProvider):
    """The authority's test identity provider: HMAC-SHA256(secret, tag ‖ challenge ‖ number)."""

    def attest(self, challenge: bytes, licence_number: str):
        message = b"EDL1/identity\0" + challenge + licence_number.encode()
        return hmac.new(SECRET, message, hashlib.sha256).digest()


class Stages(UploadProgress):
    def __init__(self):
        self.seen = []

    def on_stage(self, stage, fraction):
        self.seen.append((stage, fraction))


class Events(WalletObserver):
    def __init__(self):
        self.events = []

    def on_event(self, event):
        self.events.append(event)


class Records(Logger):
    def __init__(self):
        self.records = []

    def log(self, level, target, message):
        self.records.append((level, target, message))


def trust_list() -> bytes:
    with urllib.request.urlopen(URL + "/v1/trust-list") as answer:
        return base64.b64decode(json.loads(answer.read())["trust_list"])


def test_the_driver_flow_from_enrolment_to_a_verified_offline_presentation(tmp_path, observe):
    n = number()
    driver = create_driver(n)
    code = activation_code(driver)
    wallet = Wallet(str(tmp_path / "wallet"), key_file_key_store(str(tmp_path / "key")))
    assert not wallet.is_enrolled()
    observer = Events()
    observe(wallet, observer)

    async def flow():
        await wallet.enrol(URL, n, code)
        applied = await wallet.apply(HmacIdentity())
        assert applied.phase == ApplicationPhase.AWAITING_PHOTO
        photo = PHOTO.read_bytes()
        report = await wallet.check_photo(photo)
        assert report.passes, report.problems
        assert report.left_to_reviewer
        stages = Stages()
        accepted = await wallet.submit_photo(photo, PhotoSource.CAMERA, stages)
        assert [s for s, _ in stages.seen] == [
            UploadStage.CHECKED,
            UploadStage.NORMALISED,
            UploadStage.UPLOADING,
            UploadStage.UPLOADED,
        ]
        assert accepted.application.phase == ApplicationPhase.UNDER_REVIEW
        pending = wallet.application().pending_review
        assert pending.photo_id == accepted.photo_id
        assert pending.deadline_unix > pending.submitted_at_unix
        admin("POST", f"/admin/reviews/{accepted.photo_id}/approve")
        report = await wallet.sync()
        assert report.elicence_changed
        return accepted

    asyncio.run(flow())
    kinds = {type(e).__name__.split(".")[-1] for e in observer.events}
    assert {"ELICENCE_CHANGED", "APPLICATION_CHANGED", "REVIEW_RESULT", "NEW_MESSAGES"} <= kinds, kinds
    review = next(e for e in observer.events if isinstance(e, WalletEvent.REVIEW_RESULT))
    assert review.review.photo_id == wallet.photo_reviews()[-1].photo_id
    assert wallet.is_enrolled()
    assert wallet.application().phase == ApplicationPhase.ISSUED
    main = wallet.main_page()
    assert main.licence_number == n
    assert main.name == "张三"
    assert wallet.supplementary_page().class_meanings[0].code == "C1"
    assert wallet.last_synced_unix() is not None
    assert wallet.photo()
    assert wallet.photo_reviews()
    assert wallet.messages()

    presentation = wallet.present(PresentationForm.OFFLINE, Audience.BUSINESS)
    assert len(presentation.qr_modules) == presentation.qr_width**2
    assert 0 < presentation.seconds_left <= 30
    verifier = Verifier(trust_list(), Audience.BUSINESS)
    verified = verifier.verify_offline(presentation.payload, wallet.now_unix())
    assert verified.disclosed.view.name == "张三"

    tampered = bytearray(presentation.payload)
    tampered[-1] ^= 1
    with pytest.raises(EdlError.Rejected):
        verifier.verify_offline(bytes(tampered), wallet.now_unix())

    dynamic = wallet.dynamic_code(Audience.ENFORCEMENT)
    assert dynamic.manual_code.isdigit()
    assert any(dynamic.barcode_modules)


def test_a_wrong_activation_code_is_refused(tmp_path):
    n = number()
    create_driver(n)
    wallet = Wallet(str(tmp_path / "w"), key_file_key_store(str(tmp_path / "key")))
    with pytest.raises(EdlError.Refused) as e:
        asyncio.run(wallet.enrol(URL, n, "000000"))
    assert e.value.reason == RefusalReason.ACTIVATION_CODE_INVALID
    assert n not in str(e.value)


def test_an_unreachable_authority_is_offline_and_reads_need_no_network(tmp_path):
    wallet = Wallet(str(tmp_path / "w"), key_file_key_store(str(tmp_path / "key")))
    with pytest.raises(EdlError.Offline):
        asyncio.run(wallet.enrol("http://127.0.0.1:9", number(), "123456"))
    with pytest.raises(EdlError.NotEnrolled):
        asyncio.run(wallet.sync())
    with pytest.raises(EdlError.NoElicence):
        wallet.present(PresentationForm.ONLINE, Audience.BUSINESS)
    assert wallet.main_page() is None


def test_another_key_does_not_open_the_store(tmp_path):
    Wallet(str(tmp_path / "w"), key_file_key_store(str(tmp_path / "key1")))
    with pytest.raises(EdlError.KeyStore):
        Wallet(str(tmp_path / "w"), key_file_key_store(str(tmp_path / "key2")))


def test_a_store_from_a_newer_library_asks_for_an_update_and_a_short_key_blames_the_key_store(
    tmp_path,
):
    """Neither is a damaged store, whose answer is to wipe the wallet (third hostile review,
    F6): a file from a newer library is StoreTooNew and is left as it was; a key store that
    unwraps a key of the wrong length is a KeyStore failure."""
    import gc
    import sqlite3

    directory = tmp_path / "w"
    keys = key_file_key_store(str(tmp_path / "key"))
    Wallet(str(directory), keys)
    gc.collect()

    class Short(KeyStore):
        def wrap_key(self, plaintext):
            return keys.wrap_key(plaintext)

        def unwrap_key(self, wrapped):
            return keys.unwrap_key(wrapped)[1:]

    with pytest.raises(EdlError.KeyStore) as e:
        Wallet(str(directory), Short())
    assert e.value.reason == KeyStoreFailure.FAILED

    db = sqlite3.connect(directory / "wallet.db")
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(EdlError.StoreTooNew):
        Wallet(str(directory), keys)


def test_log_records_reach_the_python_logger(tmp_path):
    records = Records()
    set_logger(records, LogLevel.INFO)
    try:
        Wallet(str(tmp_path / "w"), key_file_key_store(str(tmp_path / "key")))
    finally:
        # The logger is called on the library's own thread; removing it returns once the
        # records made before have reached it (D141).
        set_logger(None, LogLevel.INFO)
    assert (LogLevel.INFO, "edl_ffi::wallet", "wallet opened") in records.records


def test_a_whole_flows_log_has_the_cores_records_and_no_personal_data(tmp_path):
    """Every record of enrolment, application, photo check and upload, sync, offline and
    online verification, at the finest level: the core's own records arrive (with the steps
    they happened in) and none holds the driver's name, licence number or address, the
    activation code or the verifier's API key."""
    from edl import OnlineVerifier

    n = number()
    driver = create_driver(n)
    code = activation_code(driver)
    key = admin("POST", "/admin/verifiers", {"name": "log test", "class": "enforcement"})[
        "api_key"
    ]
    records = Records()
    set_logger(records, LogLevel.TRACE)
    try:
        wallet = Wallet(str(tmp_path / "w"), key_file_key_store(str(tmp_path / "key")))

        async def flow():
            await wallet.enrol(URL, n, code)
            await wallet.apply(HmacIdentity())
            photo = PHOTO.read_bytes()
            assert (await wallet.check_photo(photo)).passes
            accepted = await wallet.submit_photo(photo, PhotoSource.ALBUM, None)
            admin("POST", f"/admin/reviews/{accepted.photo_id}/approve")
            await wallet.sync()
            online = wallet.present(PresentationForm.ONLINE, Audience.ENFORCEMENT)
            await OnlineVerifier(URL, key).verify_qr(online.payload)

        asyncio.run(flow())
        offline = wallet.present(PresentationForm.OFFLINE, Audience.ENFORCEMENT)
        Verifier(trust_list(), Audience.ENFORCEMENT).verify_offline(
            offline.payload, wallet.now_unix()
        )
    finally:
        # Returns once every record made before has reached `records` (D141).
        set_logger(None, LogLevel.INFO)

    core = [(lvl, msg) for lvl, target, msg in records.records if target.startswith("edl_core::")]
    assert (LogLevel.INFO, "apply: the authority answered the application phase=AwaitingPhoto") in core, core
    assert any(m.startswith("photo_upload{source=Album change=false}: ") for _, m in core), core
    assert any(m.startswith("sync: sync stored") and "elicence_changed=true" in m for _, m in core)
    assert (LogLevel.INFO, "verify{mode=online}: verified by the authority") in core, core
    assert any(m.startswith("enrol: enrolled") for _, m in core), core
    everything = "\n".join(f"{target} {message}" for _, target, message in records.records)
    for personal in [n, "张三", "北京市东城区测试路1号", "测试路", code, key]:
        assert personal not in everything, personal


def test_a_passphrase_key_store_reopens_the_wallet_and_another_passphrase_does_not(tmp_path):
    directory = str(tmp_path / "w")
    Wallet(directory, software_key_store("correct horse"))
    assert not Wallet(directory, software_key_store("correct horse")).is_enrolled()
    with pytest.raises(EdlError.KeyStore) as e:
        Wallet(directory, software_key_store("battery staple"))
    assert "horse" not in str(e.value)


def test_one_wallet_serves_many_coroutines_at_once(tmp_path):
    n = number()
    driver = create_driver(n)
    wallet = Wallet(str(tmp_path / "w"), key_file_key_store(str(tmp_path / "key")))

    async def flow():
        await wallet.enrol(URL, n, activation_code(driver))
        await wallet.apply(HmacIdentity())
        accepted = await wallet.submit_photo(PHOTO.read_bytes(), PhotoSource.ALBUM, None)
        admin("POST", f"/admin/reviews/{accepted.photo_id}/approve")
        reports = await asyncio.gather(*(wallet.sync() for _ in range(8)))
        return reports

    reports = asyncio.run(flow())
    assert sum(r.elicence_changed for r in reports) >= 1
    assert wallet.application().phase == ApplicationPhase.ISSUED
