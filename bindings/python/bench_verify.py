"""Times Verifier.verify_offline on the committed vectors through the generated module.

    python3 bindings/python/bench_verify.py DIR

DIR holds the generated `edl.py` next to the `libedl_ffi.so` to time (bindings/measure-size.sh
sets one up per release-profile candidate). Prints the best of 5 runs of 500 calls, in µs per
call, Python's call overhead included (a few µs).
"""

import pathlib
import sys
import time

sys.path.insert(0, sys.argv[1])
import edl  # noqa: E402

VECTORS = pathlib.Path(__file__).resolve().parents[2] / "core/tests/vectors/v1.txt"
values = dict(
    line.split(" = ", 1)
    for line in VECTORS.read_text(encoding="utf-8").splitlines()
    if " = " in line and not line.startswith("#")
)
now = int(values["now"])
for name, audience in [
    ("offline_business", edl.Audience.BUSINESS),
    ("offline_enforcement", edl.Audience.ENFORCEMENT),
]:
    verifier = edl.Verifier(bytes.fromhex(values["trust_list"]), audience)
    payload = bytes.fromhex(values[name])
    for _ in range(50):
        verifier.verify_offline(payload, now)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(500):
            verifier.verify_offline(payload, now)
        best = min(best, (time.perf_counter() - start) / 500)
    print(f"  {name}: {best * 1e6:.0f} µs per verify_offline")
