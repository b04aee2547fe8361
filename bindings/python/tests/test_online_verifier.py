"""The verifier's online check (OnlineVerifier) through the generated Python module, against
the authority bindings/test.sh runs on loopback: each way of presenting, each audience's
view, and the refusals as typed errors."""

import asyncio
import hashlib

import pytest

from edl import (
    ApplicationPhase,
    Audience,
    DisclosedView,
    EdlError,
    InputKind,
    LiveView,
    OnlineVerifier,
    PresentationForm,
    RejectionReason,
    StatusColour,
    Verifier,
    Wallet,
    key_file_key_store,
    payload_form,
)
from test_wallet import URL, HmacIdentity, activation_code, admin, create_driver, number

pytestmark = pytest.mark.skipif(URL is None, reason="needs the authority (bindings/test.sh)")


def api_key(name: str, verifier_class: str) -> str:
    return admin("POST", "/admin/verifiers", {"name": name, "class": verifier_class})["api_key"]


def issued_wallet(tmp_path):
    """A driver whose photo is on file, so applying issues the e-licence at once."""
    n = number()
    code = activation_code(create_driver(n, photo_on_file=True))
    wallet = Wallet(str(tmp_path / "wallet"), key_file_key_store(str(tmp_path / "key")))

    async def enrol_and_apply():
        await wallet.enrol(URL, n, code)
        return await wallet.apply(HmacIdentity())

    assert asyncio.run(enrol_and_apply()).phase == ApplicationPhase.ISSUED
    return wallet, n


def test_qr_barcode_and_manual_code_verify_with_each_verifiers_view(tmp_path):
    wallet, n = issued_wallet(tmp_path)
    insurer = OnlineVerifier(URL, api_key("平安保险", "insurer"))
    police = OnlineVerifier(URL, api_key("交警支队", "enforcement"))
    dynamic = wallet.dynamic_code(Audience.BUSINESS)

    async def checks():
        qr = wallet.present(PresentationForm.ONLINE, Audience.ENFORCEMENT).payload
        business_qr = wallet.present(PresentationForm.ONLINE, Audience.BUSINESS).payload
        # The police see both pages; the code is then spent, so the insurer shown the same
        # QR is told it was already used (D68), and sees the qualification of a business QR.
        by_police = await police.verify_qr(qr)
        with pytest.raises(EdlError.Rejected) as spent:
            await insurer.verify_qr(qr)
        assert spent.value.reason == RejectionReason.ALREADY_USED()
        return (
            by_police,
            await insurer.verify_qr(business_qr),
            await insurer.verify_barcode(dynamic.barcode_text),
            await insurer.verify_manual(n, f"{dynamic.manual_code[:3]} {dynamic.manual_code[3:]}"),
            await insurer.fetch_trust_list(),
        )

    by_police, by_insurer, by_barcode, by_manual, trust = asyncio.run(checks())
    online_qr = wallet.present(PresentationForm.ONLINE, Audience.BUSINESS).payload
    offline_qr = wallet.present(PresentationForm.OFFLINE, Audience.BUSINESS).payload
    assert payload_form(online_qr) == PresentationForm.ONLINE
    assert payload_form(offline_qr) == PresentationForm.OFFLINE
    with pytest.raises(EdlError.Malformed):
        payload_form(b"\xff\x00")
    assert by_police.in_force and by_police.status_colour == StatusColour.BLACK
    assert isinstance(by_police.view, LiveView.ENFORCEMENT)
    assert by_police.view.main.licence_number == n
    assert by_police.photo
    assert isinstance(by_insurer.view, LiveView.BUSINESS)
    qualification = by_insurer.view.qualification
    assert qualification.name == "张三" and qualification.masked_number != n
    # The photo to compare with the driver's face is the one the digest names.
    assert hashlib.sha256(by_insurer.photo).hexdigest() == qualification.photo_digest_hex
    assert by_insurer.not_in_force_reason is None
    assert {by_police.elicence_id, by_barcode.elicence_id, by_manual.elicence_id} == {
        by_insurer.elicence_id
    }

    offline = wallet.present(PresentationForm.OFFLINE, Audience.BUSINESS).payload
    verified = Verifier(trust, Audience.BUSINESS).verify_offline(offline, wallet.now_unix())
    assert isinstance(verified.disclosed, DisclosedView.BUSINESS)


def test_refusals_are_typed_errors(tmp_path):
    wallet, n = issued_wallet(tmp_path)
    employer = OnlineVerifier(URL, api_key("用工单位", "employer"))
    real = wallet.dynamic_code(Audience.BUSINESS).manual_code
    wrong = real[0] + ("1" if real[1] == "0" else "0") + real[2:]
    qr = wallet.present(PresentationForm.ONLINE, Audience.BUSINESS).payload
    offline_qr = wallet.present(PresentationForm.OFFLINE, Audience.BUSINESS).payload

    with pytest.raises(EdlError.Rejected) as e:
        asyncio.run(employer.verify_manual(n, wrong))
    assert e.value.reason == RejectionReason.WRONG_CODE()
    assert n not in str(e.value)
    with pytest.raises(EdlError.Malformed) as e:
        asyncio.run(employer.verify_qr(offline_qr))
    assert e.value.what == InputKind.PAYLOAD
    with pytest.raises(EdlError.Malformed) as e:
        asyncio.run(employer.verify_barcode("123"))
    assert e.value.what == InputKind.TYPED_CODE
    with pytest.raises(EdlError.Unauthorised):
        asyncio.run(OnlineVerifier(URL, "not-a-key").verify_qr(qr))
    with pytest.raises(EdlError.Offline):
        asyncio.run(OnlineVerifier("http://127.0.0.1:1", "any").verify_qr(qr))
    with pytest.raises(EdlError.InvalidArgument):
        OnlineVerifier("ftp://authority", "key")
