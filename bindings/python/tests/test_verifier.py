"""The verifier API through the generated Python module, on the committed vectors."""

import concurrent.futures
import re

import pytest

import edl
from edl import (
    Audience,
    DisclosedView,
    EdlError,
    InputKind,
    NotEligibleReason,
    RejectionReason,
    Sex,
    StatusColour,
    Verifier,
)


def flip(payload: bytes, index: int, mask: int) -> bytes:
    tampered = bytearray(payload)
    tampered[index] ^= mask
    return bytes(tampered)


def test_core_version_is_reported():
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", edl.core_version())


def test_committed_business_payload_verifies_with_the_qualification_only(vectors):
    verifier = Verifier(vectors.trust_list, Audience.BUSINESS)
    verified = verifier.verify_offline(vectors.bytes("offline_business"), vectors.now)
    assert verified.audience == Audience.BUSINESS
    assert verified.window_start_unix <= vectors.now < verified.window_end_unix
    assert isinstance(verified.disclosed, DisclosedView.BUSINESS)
    view = verified.disclosed.view
    assert view.name == "张伟"
    assert view.masked_number == "1101**********1234"
    assert view.classes == "C1"
    assert view.class_codes == ["C1"]
    assert re.fullmatch(r"[0-9a-f]{32}", view.photo_digest_hex)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", view.valid_until)
    assert view.valid_from < view.valid_until
    assert view.status.letters == "A"
    assert view.status.colour == StatusColour.BLACK
    assert (view.status.label_zh, view.status.label_en) == ("正常", "Normal")
    assert view.status.may_drive
    assert view.issued_at_unix < vectors.now < view.expires_at_unix
    # The business record has no field for what a business must not see.
    assert not hasattr(view, "address") and not hasattr(view, "licence_number")


def test_committed_enforcement_payload_verifies_with_both_pages(vectors):
    verifier = Verifier(vectors.trust_list, Audience.ENFORCEMENT)
    verified = verifier.verify_offline(vectors.bytes("offline_enforcement"), vectors.now)
    assert isinstance(verified.disclosed, DisclosedView.ENFORCEMENT)
    view = verified.disclosed.view
    assert len(view.elicence_id) == 20
    main, supplementary = view.main, view.supplementary
    assert main.licence_number == "110101199003071234"
    assert main.name == "张伟"
    assert (main.sex, main.sex_label_zh) == (Sex.MALE, "男")
    assert main.status.letters == "A"
    assert re.fullmatch(r"[0-9a-f]{64}", main.photo_digest_hex)
    assert main.photo_digest_hex.startswith("6ad094cf")
    assert main.generated_at_unix == view.issued_at_unix
    assert supplementary.address and supplementary.issuing_authority
    assert len(supplementary.record) == 2
    assert supplementary.cycle.points == sum(e.points for e in supplementary.record)
    assert supplementary.cycle.limit == 12
    assert supplementary.cycle.remaining == 12 - supplementary.cycle.points
    assert not supplementary.cycle.reached_limit
    assert [(c.code, c.meaning_zh) for c in supplementary.class_meanings] == [("C1", "小型汽车")]


def test_text_form_verifies_like_the_bytes(vectors):
    payload = vectors.bytes("offline_business")
    text = edl.payload_to_text(payload)
    assert text.startswith("EDL:")
    assert edl.payload_from_text(text) == payload
    verifier = Verifier(vectors.trust_list, Audience.BUSINESS)
    assert verifier.verify_offline_text(f" {text}\n", vectors.now) == verifier.verify_offline(
        payload, vectors.now
    )


def test_tampered_view_is_rejected_with_a_bad_issuer_signature(vectors):
    verifier = Verifier(vectors.trust_list, Audience.BUSINESS)
    with pytest.raises(EdlError.Rejected) as e:
        verifier.verify_offline(flip(vectors.bytes("offline_business"), 50, 0x01), vectors.now)
    assert e.value.reason == RejectionReason.BAD_ISSUER_SIGNATURE()


def test_tampered_device_signature_is_rejected(vectors):
    payload = vectors.bytes("offline_enforcement")
    verifier = Verifier(vectors.trust_list, Audience.ENFORCEMENT)
    with pytest.raises(EdlError.Rejected) as e:
        verifier.verify_offline(flip(payload, len(payload) - 1, 0x80), vectors.now)
    assert e.value.reason == RejectionReason.BAD_DEVICE_SIGNATURE()


def test_a_business_verifier_refuses_the_enforcement_view(vectors):
    verifier = Verifier(vectors.trust_list, Audience.BUSINESS)
    with pytest.raises(EdlError.Rejected) as e:
        verifier.verify_offline(vectors.bytes("offline_enforcement"), vectors.now)
    assert e.value.reason == RejectionReason.WRONG_AUDIENCE(
        presented=Audience.ENFORCEMENT, expected=Audience.BUSINESS
    )
    assert "张伟" not in str(e.value)


def test_a_replayed_payload_is_rejected_once_its_window_has_passed(vectors):
    verifier = Verifier(vectors.trust_list, Audience.BUSINESS)
    with pytest.raises(EdlError.Rejected) as e:
        verifier.verify_offline(vectors.bytes("offline_business"), vectors.now + 120)
    assert e.value.reason == RejectionReason.WINDOW_EXPIRED()


def test_malformed_input_surfaces_as_typed_malformed_errors(vectors):
    verifier = Verifier(vectors.trust_list, Audience.BUSINESS)
    with pytest.raises(EdlError.Malformed) as text:
        verifier.verify_offline_text("not a payload", vectors.now)
    assert text.value.what == InputKind.PAYLOAD_TEXT
    with pytest.raises(EdlError.Malformed) as online:
        verifier.verify_offline(vectors.bytes("online_business"), vectors.now)
    assert online.value.what == InputKind.PAYLOAD
    with pytest.raises(EdlError.Malformed) as trust:
        Verifier(b"\x01\x02\x03", Audience.BUSINESS)
    assert trust.value.what == InputKind.TRUST_LIST


def test_a_rendered_qr_scans_back_to_the_payload(vectors):
    payload = vectors.bytes("offline_business")
    assert edl.scan_png(edl.render_qr_png(payload, 4)) == [payload]
    with pytest.raises(EdlError.Malformed) as e:
        edl.scan_png(b"\x89PNG")
    assert e.value.what == InputKind.IMAGE


def test_not_eligible_reasons_come_with_the_drivers_text():
    text = edl.not_eligible_text(NotEligibleReason.SUSPENDED)
    assert "暂扣" in text.zh
    assert "suspended" in text.en


def test_the_core_hands_over_the_display_texts():
    # An error made here travels back into the library to be worded: the wait it names
    # comes out in the text, in both languages.
    busy = edl.error_text(EdlError.Busy(30))
    assert (busy.zh, busy.en) == ("服务繁忙，请 30 秒后再试", "Busy: try again in 30 s")
    assert "仍可使用" in edl.error_text(EdlError.Offline()).zh
    assert edl.beijing_date_time(1_795_489_205) == "2026-11-24 11:00"
    assert edl.validity_end_text("9999-12-31").zh == "长期"
    assert edl.points_fraction(3, 12) == 0.25


def test_one_verifier_serves_many_threads_at_once(vectors):
    verifier = Verifier.with_skew(vectors.trust_list, Audience.BUSINESS, 5)
    assert verifier.skew_secs() == 5
    payload = vectors.bytes("offline_business")
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: verifier.verify_offline(payload, vectors.now), range(64)))
    assert all(r == results[0] for r in results)


def test_pinned_authority_roots_must_be_certificates_and_can_be_cleared():
    # The TLS handshake itself is tested in Rust (authority/tests/tls.rs); here, the contract.
    for roots in ([b"not a certificate"], []):
        with pytest.raises(edl.EdlError.InvalidArgument) as e:
            edl.set_authority_roots(roots)
        assert "certificates" in str(e.value)
    edl.set_authority_roots(None)
