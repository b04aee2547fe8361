"""The pinned root and the signed lists (D93) through the generated Python module, against
the authority bindings/test.sh runs on loopback with a test root key: a verifier and a
wallet pin the root, refresh the trust list and the status list, refuse forged and foreign
lists with the typed reason, refuse a suspended licence offline, say "status unknown"
once the status list is stale, and say "not valid yet" of a licence whose validity begins
later (D154)."""

import asyncio
import datetime
import os
import time

import pytest

from edl import (
    Audience,
    EdlError,
    ListKind,
    ListRefusal,
    OnlineVerifier,
    OwnStatus,
    PresentationForm,
    RejectionReason,
    StaleStatusPolicy,
    StatusCheck,
    Verifier,
    Wallet,
    key_file_key_store,
    own_status_text,
    status_check_text,
)
from test_wallet import URL, admin, trust_list
from test_wallet_changes import issued

pytestmark = pytest.mark.skipif(URL is None, reason="needs the authority (bindings/test.sh)")

ROOT = os.environ.get("EDL_ROOT_PUBLIC_KEY", "")
# A valid Ed25519 public key that is not the authority's root (the curve's base point).
OTHER_ROOT = bytes.fromhex("58" + "66" * 31)


def online() -> OnlineVerifier:
    # The lists are public: an offline-only scanner needs no API key to refresh them.
    return OnlineVerifier(URL, "")


def offline_qr(wallet: Wallet) -> bytes:
    return wallet.present(PresentationForm.OFFLINE, Audience.ENFORCEMENT).payload


def list_refusal(e) -> tuple:
    return (e.value.list, e.value.reason)


def test_a_pinned_verifier_refuses_a_suspended_licence_offline_after_refreshing(tmp_path):
    wallet, driver = issued(tmp_path)
    police = Verifier.pinned_text(ROOT, Audience.ENFORCEMENT, StaleStatusPolicy.REFUSE)
    assert police.root_public_key() == bytes.fromhex(ROOT)
    # Nothing verifies before a trust list is held.
    with pytest.raises(EdlError.ListRefused) as e:
        police.verify_offline(offline_qr(wallet), wallet.now_unix())
    assert list_refusal(e) == (ListKind.TRUST_LIST, ListRefusal.NO_LIST)

    lists = asyncio.run(police.refresh(online(), wallet.now_unix()))
    assert lists.trust_list.keys >= 1
    assert lists.trust_list.expires_at_unix > wallet.now_unix()
    assert police.status_list_info() == lists.status_list
    verified = police.verify_offline(offline_qr(wallet), wallet.now_unix())
    assert verified.status == StatusCheck.IN_FORCE

    # Suspended at the authority; the wallet does not sync, so its QR still carries the
    # credential signed while the licence was in force.
    admin("PUT", f"/admin/drivers/{driver}/status", {"status": "D"})
    qr = offline_qr(wallet)
    assert police.verify_offline(qr, wallet.now_unix()).status == StatusCheck.IN_FORCE
    asyncio.run(police.refresh(online(), wallet.now_unix()))
    with pytest.raises(EdlError.Rejected) as e:
        police.verify_offline(offline_qr(wallet), wallet.now_unix())
    assert e.value.reason == RejectionReason.ELICENCE_SUSPENDED()

    # The wallet pins the same root and shows the driver the same answer, offline.
    wallet.pin_root_text(ROOT)
    asyncio.run(wallet.refresh_lists())
    assert wallet.own_status() == OwnStatus.SUSPENDED
    assert own_status_text(OwnStatus.SUSPENDED).zh


def test_forged_unsigned_and_foreign_lists_are_refused_with_their_reason(tmp_path):
    signed = asyncio.run(online().fetch_signed_trust_list())
    status = asyncio.run(online().fetch_status_list())
    now = int(time.time())
    police = Verifier.pinned(bytes.fromhex(ROOT), Audience.ENFORCEMENT, StaleStatusPolicy.ACCEPT)

    # A status list cannot be checked before a trust list vouches for its signer.
    with pytest.raises(EdlError.ListRefused) as e:
        police.load_status_list(status, now)
    assert list_refusal(e) == (ListKind.TRUST_LIST, ListRefusal.NO_LIST)
    # One flipped byte in the keys: the root's signature no longer holds.
    forged = bytearray(signed)
    forged[20] ^= 0x01
    with pytest.raises(EdlError.ListRefused) as e:
        police.load_trust_list(bytes(forged), now)
    assert list_refusal(e) == (ListKind.TRUST_LIST, ListRefusal.BAD_SIGNATURE)
    # The bare list of GET /v1/trust-list carries no root signature.
    with pytest.raises(EdlError.ListRefused) as e:
        police.load_trust_list(trust_list(), now)
    assert list_refusal(e) == (ListKind.TRUST_LIST, ListRefusal.UNSIGNED)
    assert police.trust_list_info() is None

    police.load_trust_list(signed, now)
    forged_status = bytearray(status)
    forged_status[-1] ^= 0x80
    with pytest.raises(EdlError.ListRefused) as e:
        police.load_status_list(bytes(forged_status), now)
    assert list_refusal(e) == (ListKind.STATUS_LIST, ListRefusal.BAD_SIGNATURE)
    assert police.status_list_info() is None
    police.load_status_list(status, now)

    # A verifier pinned to another root refuses the authority's list.
    foreign = Verifier.pinned(OTHER_ROOT, Audience.BUSINESS, StaleStatusPolicy.ACCEPT)
    with pytest.raises(EdlError.ListRefused) as e:
        foreign.load_trust_list(signed, now)
    assert list_refusal(e) == (ListKind.TRUST_LIST, ListRefusal.BAD_SIGNATURE)
    with pytest.raises(EdlError.InvalidArgument):
        Verifier.pinned_text("not a key", Audience.BUSINESS, StaleStatusPolicy.ACCEPT)
    with pytest.raises(EdlError.InvalidArgument):
        Verifier(trust_list(), Audience.BUSINESS).load_trust_list(signed, now)

    # So does a wallet pinned to another root; it holds no list and says so.
    wallet, _ = issued(tmp_path)
    with pytest.raises(EdlError.InvalidArgument):
        asyncio.run(wallet.refresh_lists())
    wallet.pin_root(OTHER_ROOT)
    with pytest.raises(EdlError.ListRefused) as e:
        asyncio.run(wallet.refresh_lists())
    assert list_refusal(e) == (ListKind.TRUST_LIST, ListRefusal.BAD_SIGNATURE)
    assert wallet.own_status() == OwnStatus.NOT_CHECKED


def test_a_stale_status_list_is_status_unknown_which_the_policy_decides(tmp_path):
    wallet, _ = issued(tmp_path)
    lenient = Verifier.pinned_text(ROOT, Audience.ENFORCEMENT, StaleStatusPolicy.ACCEPT)
    strict = Verifier.pinned_text(ROOT, Audience.ENFORCEMENT, StaleStatusPolicy.REFUSE)
    lists = asyncio.run(lenient.refresh(online(), wallet.now_unix()))
    asyncio.run(strict.refresh(online(), wallet.now_unix()))
    wallet.pin_root_text(ROOT)
    asyncio.run(wallet.refresh_lists())
    assert wallet.own_status() == OwnStatus.IN_FORCE

    # The test authority's lists live EDL_STATUS_LIST_TTL (12) seconds.
    time.sleep(max(0, lists.status_list.stale_at_unix - wallet.now_unix()) + 1)
    qr = offline_qr(wallet)
    verified = lenient.verify_offline(qr, wallet.now_unix())
    assert verified.status == StatusCheck.UNKNOWN
    assert "check online" in status_check_text(verified.status).en
    with pytest.raises(EdlError.Rejected) as e:
        strict.verify_offline(qr, wallet.now_unix())
    assert e.value.reason == RejectionReason.STATUS_UNKNOWN()
    assert wallet.own_status() == OwnStatus.UNKNOWN


def test_a_licence_whose_validity_begins_later_is_not_valid_yet_offline_and_in_the_wallet(
    tmp_path,
):
    # A renewed licence whose period starts later (D153): the authority issues its
    # e-licence now, offline checks refuse it until the first day, and the wallet says not
    # valid yet: not suspended, and no sync to ask for (D154). Two days ahead, so that a
    # run across Beijing midnight still sees a later day.
    beijing = datetime.timezone(datetime.timedelta(hours=8))
    first_day = datetime.datetime.now(beijing).date() + datetime.timedelta(days=2)
    wallet, _ = issued(tmp_path, valid_from=first_day.isoformat())
    police = Verifier.pinned_text(ROOT, Audience.ENFORCEMENT, StaleStatusPolicy.REFUSE)
    asyncio.run(police.refresh(online(), wallet.now_unix()))
    with pytest.raises(EdlError.Rejected) as e:
        police.verify_offline(offline_qr(wallet), wallet.now_unix())
    assert e.value.reason == RejectionReason.LICENCE_NOT_YET_VALID()

    wallet.pin_root_text(ROOT)
    asyncio.run(wallet.refresh_lists())
    assert wallet.own_status() == OwnStatus.LICENCE_NOT_YET_VALID
    words = own_status_text(OwnStatus.LICENCE_NOT_YET_VALID)
    assert "同步" not in words.zh and "暂停" not in words.zh
    # An expired licence cannot be reached on a real authority: it issues no e-licence for
    # one and refuses a renewal into the past, and the wallet's clock is the authority's.
    # The core's tests cover it (core/tests/own_status.rs); here only its words.
    assert "换证" in own_status_text(OwnStatus.LICENCE_EXPIRED).zh
