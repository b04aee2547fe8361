"""Loads the generated `edl` module and the committed format vectors.

bindings/test.sh generates the module into EDL_PYTHON_DIR (next to a link to
libedl_ffi.so) and points EDL_VECTORS at core/tests/vectors/v1.txt.
"""

import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, os.environ.get("EDL_PYTHON_DIR", str(ROOT / "bindings/python/build")))
VECTORS = pathlib.Path(os.environ.get("EDL_VECTORS", ROOT / "core/tests/vectors/v1.txt"))


class Vectors:
    """The `name = value` lines of the vector file."""

    def __init__(self, path: pathlib.Path):
        self.values = dict(
            line.split(" = ", 1)
            for line in path.read_text(encoding="utf-8").splitlines()
            if " = " in line and not line.startswith("#")
        )
        self.now = int(self.values["now"])
        self.trust_list = self.bytes("trust_list")

    def bytes(self, name: str) -> bytes:
        return bytes.fromhex(self.values[name])


@pytest.fixture(scope="session")
def vectors() -> Vectors:
    return Vectors(VECTORS)


@pytest.fixture
def observe():
    """`observe(wallet, observer)` sets the wallet's observer and clears it when the test
    ends. An event still queued for a Python observer at exit would be handed to it on the
    library's thread while the interpreter finalises, which CPython before 3.14 answers by
    ending that thread, and the process aborts (BINDINGS.md, D141): a cleared observer is
    handed nothing more."""
    observed = []

    def set_observer(wallet, observer):
        wallet.set_observer(observer)
        observed.append(wallet)

    yield set_observer
    for wallet in observed:
        wallet.set_observer(None)
