#!/usr/bin/env python3
"""An independent verifier of the committed cases, written from docs/PROTOCOL.md alone.

Covers the signed trust lists, the status lists, the business offline presentations (with
and without a status list), the window rule, the TOTP keys and codes, the text form and
the strict signature rules; it skips the enforcement view's layout. Ed25519 comes from
`cryptography` (OpenSSL), which is not strict: the checks the protocol adds are here.

    python3 core/tests/vectors/independent_check.py [core/tests/vectors/v1-cases.txt]

Prints one line per disagreement and exits 1 if there is any.
"""

import base64
import datetime
import hashlib
import hmac
import struct
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
SKEW = 5
MAX_TTL_HOURS = 72
IN_FORCE_LETTERS = set("AHI")
ALL_LETTERS = set("ABCDEFGHIJKLMNPQRSTUZ")
# The eight points of small order, canonically encoded, and the two "negative zero"
# encodings of the points with x = 0.
SMALL_ORDER = {
    bytes.fromhex(h)
    for h in [
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "0100000000000000000000000000000000000000000000000000000000000080",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    ]
}


class Reject(Exception):
    pass


def canonical_point(b):
    return int.from_bytes(b, "little") & ((1 << 255) - 1) < P


def strict_verify(key, tag, message, sig):
    """OpenSSL's check plus what the protocol adds: S < L, A and R canonical and not of
    small order."""
    if len(key) != 32 or len(sig) != 64:
        return False
    r, s = sig[:32], sig[32:]
    if int.from_bytes(s, "little") >= L:
        return False
    for point in (key, r):
        if not canonical_point(point) or point in SMALL_ORDER:
            return False
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(sig, tag + message)
        return True
    except (InvalidSignature, ValueError):
        return False


class Reader:
    def __init__(self, b):
        self.b, self.i = b, 0

    def take(self, n):
        if self.i + n > len(self.b):
            raise Reject("malformed")
        out = self.b[self.i : self.i + n]
        self.i += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def rest(self):
        return self.take(len(self.b) - self.i)


def keys_list(body):
    """The version-1 trust list: {kid: (key, not_before, not_after)}."""
    r = Reader(body)
    if r.u8() != 1:
        raise Reject("malformed")
    out, last = {}, -1
    for _ in range(r.u8()):
        kid, key, nb, na = r.u16(), r.take(32), r.u32(), r.u32()
        if kid <= last or nb > na or not canonical_point(key):
            raise Reject("malformed")
        out[kid], last = (key, nb, na), kid
    if r.i != len(body):
        raise Reject("malformed")
    return out


def open_list(roots, b):
    """(signer, contents) of a root-signed trust list, or Reject."""
    if not b or b[0] != 2:
        try:
            keys_list(b)
        except Reject:
            raise Reject("malformed")
        raise Reject("unsigned")
    if len(b) < 65:
        raise Reject("malformed")
    body, sig = b[:-64], b[-64:]
    signer = next((k for k in roots if strict_verify(k, b"EDL1/root/trust-list\0", body, sig)), None)
    if signer is None:
        raise Reject("bad_root_signature")
    r = Reader(body)
    r.u8()
    seq, issued, expires = r.u32(), r.u32(), r.u32()
    if expires <= issued:
        raise Reject("malformed")
    has_next = r.u8()
    if has_next not in (0, 1):
        raise Reject("malformed")
    nxt = r.take(32) if has_next else None
    return signer, dict(seq=seq, issued=issued, expires=expires, next=nxt, keys=keys_list(r.rest()), digest=hashlib.sha256(b).digest())


class Anchor:
    def __init__(self, root):
        self.root, self.held = root, None

    def accept(self, b, now):
        # The next root named by the held list, while that list has not expired (D205).
        following = self.held and self.held["next"] and now < self.held["expires"]
        roots = [self.root] + ([self.held["next"]] if following else [])
        signer, c = open_list(roots, b)
        if self.held and (c["seq"] < self.held["seq"] or (c["seq"] == self.held["seq"] and c["digest"] != self.held["digest"])):
            raise Reject("rolled_back")
        if c["issued"] > now + SKEW:
            raise Reject("not_yet_valid")
        if now >= c["expires"]:
            raise Reject("expired")
        self.root, self.held = signer, c
        return c


def status_list(b, keys):
    """(issued_at, ttl, count, packed) of a status list checked under `keys`."""
    if len(b) < 15 + 64:
        raise Reject("malformed")
    body, sig = b[:-64], b[-64:]
    r = Reader(body)
    if r.u8() != 1:
        raise Reject("malformed")
    kid, issued = r.u16(), r.u32()
    entry = keys.get(kid)
    if entry is None or not entry[1] <= issued <= entry[2]:
        raise Reject("unknown_key")
    if not strict_verify(entry[0], b"EDL1/status-list\0", body, sig):
        raise Reject("bad_signature")
    ttl, count = r.u32(), r.u32()
    # Relied on no longer than the longest the authority signs (7 days), nor past the key's
    # retirement plus the views' 72 h cap (D125, D205).
    ttl = min(ttl, 7 * 24 * 3600, max(0, entry[2] + 72 * 3600 - issued))
    import zlib

    packed = zlib.decompress(r.rest())
    if count > 1 << 24 or len(packed) != (count + 3) // 4:
        raise Reject("malformed")
    return issued, ttl, count, packed


def status_of(lst, index, now):
    issued, ttl, count, packed = lst
    if now >= issued + ttl or index >= count:
        return "unknown"
    return {0: "in_force", 1: "superseded", 2: "suspended", 3: "superseded"}[(packed[index // 4] >> (2 * (index % 4))) & 3]


def date(code):
    if code == 0xFFFF:
        return datetime.date(9999, 12, 31)
    return datetime.date(1900, 1, 1) + datetime.timedelta(days=code)


def beijing_today(now):
    return datetime.date(1970, 1, 1) + datetime.timedelta(days=(now + 8 * 3600) // 86400)


def window_index(now, period, low):
    here = now // period
    d = (here - low) % 256
    d = d - 256 if d >= 128 else d
    return here - d


def verify_business(f):
    now = int(f["now"])
    anchor = Anchor(bytes.fromhex(f["root"]))
    keys = anchor.accept(bytes.fromhex(f["trust_list"]), now)["keys"]
    p = bytes.fromhex(f["payload"])
    if len(p) < 3 or p[0] >> 4 != 1 or (p[0] >> 2) & 3 != 1 or p[0] & 3 > 1:
        raise Reject("malformed")
    audience = "business" if p[0] & 3 == 1 else "enforcement"
    if not 10 <= p[1] <= 120:
        raise Reject("malformed")
    if audience != f["audience"]:
        raise Reject("wrong_audience")
    if audience != "business":
        return None  # the enforcement layout is not written out here
    period, view, device_sig = p[1], p[3:-64], p[-64:]
    n = window_index(now, period, p[2])
    start, end = n * period, (n + 1) * period
    if not start - SKEW <= now < end + SKEW:
        raise Reject("window_not_yet_valid" if start > now else "window_expired")
    body, issuer_sig = view[:-64], view[-64:]
    r = Reader(body)
    kid, device_key, issued = r.u16(), r.take(32), r.u32()
    if kid not in keys:
        raise Reject("unknown_issuer_key")
    key, nb, na = keys[kid]
    if not strict_verify(key, b"EDL1/view/business\0", body, issuer_sig):
        raise Reject("bad_issuer_signature")
    if not nb <= issued <= na:
        raise Reject("issued_outside_key_period")
    ttl, index = r.u16(), int.from_bytes(r.take(3), "big")
    name = r.take(r.u8()).decode()
    r.take(4 + 16 + 3)
    valid_from, valid_until = date(r.u16()), date(r.u16())
    letters = r.take(r.u8()).decode()
    if r.i != len(body) or not name or ttl == 0 or not canonical_point(device_key):
        raise Reject("malformed")
    if not letters or set(letters) - ALL_LETTERS or ("A" in letters and len(letters) > 1):
        raise Reject("malformed")
    if ttl > MAX_TTL_HOURS:
        raise Reject("lifetime_too_long")
    message = bytes([p[0], period]) + struct.pack(">Q", n) + hashlib.sha256(view).digest()
    if not strict_verify(device_key, b"EDL1/presentation\0", message, device_sig):
        raise Reject("bad_device_signature")
    if now >= issued + 3600 * ttl:
        raise Reject("credential_expired")
    if issued > now + SKEW:
        raise Reject("credential_not_yet_valid")
    today = beijing_today(now)
    if today < valid_from:
        raise Reject("licence_not_yet_valid")
    if set(letters) - IN_FORCE_LETTERS or today > valid_until:
        raise Reject("licence_not_in_force")
    if "status_list" not in f:
        return "accept"
    s = status_of(status_list(bytes.fromhex(f["status_list"]), keys), index, now)
    if s == "in_force":
        return "accept status=in_force"
    if s == "unknown":
        if f["stale_status"] == "accept":
            return "accept status=unknown"
        raise Reject("status_unknown")
    raise Reject("elicence_" + s)


def totp(key, digits, period, now):
    mac = hmac.new(key, struct.pack(">Q", now // period), hashlib.sha256).digest()
    o = mac[-1] & 0x0F
    v = struct.unpack(">I", mac[o : o + 4])[0] & 0x7FFFFFFF
    return str(v % 10**digits).zfill(digits)


def code_key(seed, kind, audience):
    return hmac.new(seed, b"EDL1/totp/" + kind + b"/" + bytes([audience]), hashlib.sha256).digest()


def check_code(seed, kind, audience, period, code, now):
    here = now // period
    windows = [here, here - 1] + ([here + 1] if now + SKEW >= (here + 1) * period else [])
    key = code_key(seed, kind, audience)
    for w in windows:
        if totp(key, 8 if kind == b"qr" else 6, period, w * period) == code:
            return w
    raise Reject("wrong_code")


def outcome(f):
    kind, now = f["kind"], int(f.get("now", 0))
    if kind == "trust_list":
        a = Anchor(bytes.fromhex(f["root"]))
        held_at = int(f.get("held_at", now))
        for h in filter(None, f.get("held", "").split(",")):
            a.accept(bytes.fromhex(h), held_at)
        return "accept sequence=%d" % a.accept(bytes.fromhex(f["list"]), now)["seq"]
    if kind == "status_list":
        keys = Anchor(bytes.fromhex(f["root"])).accept(bytes.fromhex(f["trust_list"]), now)["keys"]
        return status_of(status_list(bytes.fromhex(f["list"]), keys), int(f["index"]), now)
    if kind == "offline":
        return verify_business(f)
    if kind == "window":
        return "index=%d" % window_index(now, int(f["period"]), int(f["low_byte"], 16))
    if kind == "text":
        t = f["text"].strip()
        body = t[4:]
        if not t.startswith("EDL:") or "=" in body or "+" in body or "/" in body:
            raise Reject("malformed")
        got = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        assert got.hex() == f["payload"]
        return "accept"
    if kind == "signature":
        ok = strict_verify(bytes.fromhex(f["public_key"]), b"EDL1/presentation\0", bytes.fromhex(f["message"]), bytes.fromhex(f["signature"]))
        return "accept" if ok else "reject"
    seed = bytes.fromhex(f["seed"]) if "seed" in f else None
    if kind == "totp_key":
        key = code_key(seed, f["code_kind"].encode(), int(f["audience_code"], 16))
        digits = 8 if f["code_kind"] == "qr" else 6
        return "key=%s code=%s" % (key.hex(), totp(key, digits, int(f["period"]), now))
    if kind == "online_qr":
        p = bytes.fromhex(f["payload"])
        audience, period = p[0] & 3, p[1]
        eid, code = struct.unpack(">QI", p[2:14])
        w = check_code(seed, b"qr", audience, period, "%08d" % code, now)
        return "accept audience=%s id=%d window=%d" % (["enforcement", "business"][audience], eid, w)
    if kind == "barcode":
        t = f["text"]
        audience, period, eid = int(t[0]) - 1, int(t[1:4]), int(t[4:24])
        w = check_code(seed, b"qr", audience, period, t[24:], now)
        return "accept audience=%s id=%d window=%d" % (["enforcement", "business"][audience], eid, w)
    if kind == "manual":
        c = f["code"]
        audience = int(c[0]) - 1
        w = check_code(seed, b"manual", audience, 30, c[1:], now)
        return "accept audience=%s window=%d" % (["enforcement", "business"][audience], w)
    raise ValueError(kind)


def cases(text):
    out = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("["):
            out.append((line[1:-1], {}))
        else:
            k, v = line.split(" = ", 1)
            out[-1][1][k] = v
    return out


def main():
    path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("v1-cases.txt"))
    wrong, checked, skipped = [], 0, 0
    for name, f in cases(path.read_text()):
        if f["kind"] == "totp_key":
            expect = "key=%s code=%s" % (f["key"], f["code"])
        else:
            expect = f["expect"]
        try:
            got = outcome(f)
        except Reject as e:
            got = "reject" if f["kind"] == "signature" else "reject " + str(e)
        if got is None:
            skipped += 1
            continue
        checked += 1
        if got != expect:
            wrong.append("%s: expected %s, got %s" % (name, expect, got))
    print("\n".join(wrong))
    print("%d cases agree, %d disagree, %d skipped (enforcement layout)" % (checked - len(wrong), len(wrong), skipped))
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
