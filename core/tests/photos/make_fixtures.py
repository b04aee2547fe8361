#!/usr/bin/env python3
"""Regenerates the licence-photo test fixtures in this folder.

Source: the astronaut portrait (Eileen Collins, NASA, public domain) and the coffee photo (CC0)
that scikit-image ships in its wheel under `skimage/data/`. The script downloads that wheel
with pip (no scikit-image install needed), checks the source files' SHA-256, and writes
small JPEG variants beside itself. Every variant starts from one "clean" photo: the
astronaut framed as a licence photo with the studio backdrop painted white.

    pip install -r core/tests/photos/requirements.txt
    python3 core/tests/photos/make_fixtures.py

The output is deterministic for the pinned versions; `core/tests/photo_checks.rs` says what
each variant must be reported for.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

SKIMAGE_VERSION = "0.26.0"
SOURCES = {
    "skimage/data/astronaut.png": "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
    "skimage/data/coffee.png": "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
}
OUT = Path(__file__).resolve().parent

# The licence-photo framing in the astronaut's own pixels (x, y, w, h): head centred, the
# crown about 4 % of the height below the top edge, the head (crown to chin, about 168 px
# here) about 60 % of the height, proportions 260:378 widened a little so the photo has some
# margin around the crop the normaliser takes (as an album photo would).
CLEAN_BOX = (125, 6, 195, 283)
CLEAN_SIZE = (560, 813)
QUALITY = 88

# The backdrop: light, nearly grey studio paper. A pixel is "backdrop-like" when its channels
# differ little (low chroma) and it is not dark; the backdrop is the backdrop-like region
# connected to the crop's top and side edges, so hair, skin, the suit and the helmet ring
# (which touch no edge through backdrop-like pixels) are kept.
BACKDROP_MAX_CHROMA = 28
BACKDROP_MIN_LUMA = 150


def fetch_sources() -> dict[str, Image.Image]:
    """Downloads the pinned scikit-image wheel and returns the source images, hash-checked."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                "--only-binary", ":all:", "-d", tmp, f"scikit-image=={SKIMAGE_VERSION}",
            ],
            check=True,
        )
        wheel = next(Path(tmp).glob("scikit_image-*.whl"))
        images = {}
        with zipfile.ZipFile(wheel) as zf:
            for name, digest in SOURCES.items():
                data = zf.read(name)
                actual = hashlib.sha256(data).hexdigest()
                if actual != digest:
                    raise SystemExit(f"{name}: SHA-256 {actual}, expected {digest}")
                images[name] = Image.open(io.BytesIO(data)).convert("RGB")
        return images


def luma(a: np.ndarray) -> np.ndarray:
    return (a[..., 0] * 299 + a[..., 1] * 587 + a[..., 2] * 114) // 1000


def backdrop_mask(a: np.ndarray) -> np.ndarray:
    """Backdrop pixels: backdrop-like pixels flood-filled from the top and side edges."""
    chroma = a.max(axis=2) - a.min(axis=2)
    candidate = (chroma < BACKDROP_MAX_CHROMA) & (luma(a) > BACKDROP_MIN_LUMA)
    mask = np.zeros_like(candidate)
    mask[0, :] = True
    mask[:, 0] = True
    mask[:, -1] = True
    mask &= candidate
    while True:
        grown = mask.copy()
        grown[1:] |= mask[:-1]
        grown[:-1] |= mask[1:]
        grown[:, 1:] |= mask[:, :-1]
        grown[:, :-1] |= mask[:, 1:]
        grown &= candidate
        if (grown == mask).all():
            return mask
        mask = grown


def clean_photo(astronaut: Image.Image) -> tuple[Image.Image, Image.Image]:
    """The clean licence photo and its backdrop mask (L image, 255 = backdrop), both at
    CLEAN_SIZE."""
    x, y, w, h = CLEAN_BOX
    crop = np.asarray(astronaut.crop((x, y, x + w, y + h))).astype(np.int32)
    mask = Image.fromarray((backdrop_mask(crop) * 255).astype(np.uint8))
    # Close pinholes in the mask and soften its edge so the cut-out does not look pasted.
    mask = mask.filter(ImageFilter.MaxFilter(3)).filter(ImageFilter.MinFilter(3))
    mask = mask.resize(CLEAN_SIZE, Image.LANCZOS).filter(ImageFilter.GaussianBlur(1.2))
    person = Image.fromarray(crop.astype(np.uint8)).resize(CLEAN_SIZE, Image.LANCZOS)
    white = Image.new("RGB", CLEAN_SIZE, (255, 255, 255))
    return Image.composite(white, person, mask), mask


def with_backdrop(photo: Image.Image, mask: Image.Image, backdrop: Image.Image) -> Image.Image:
    """The photo with its backdrop replaced by `backdrop` (same size)."""
    return Image.composite(backdrop, photo, mask)


def horizontal_ramp(size: tuple[int, int], left: float, right: float) -> np.ndarray:
    """A (h, w, 1) gain that goes linearly from `left` at x = 0 to `right` at the far edge."""
    w, h = size
    ramp = np.linspace(left, right, w, dtype=np.float32)
    return np.broadcast_to(ramp[None, :, None], (h, w, 1))


def scale(photo: Image.Image, gain: np.ndarray | float, offset: float = 0.0) -> Image.Image:
    a = np.asarray(photo).astype(np.float32) * gain + offset
    return Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8))


def save_jpeg(img: Image.Image, name: str, **kw) -> None:
    path = OUT / name
    # No Pillow defaults that vary between versions: fixed quality and subsampling.
    img.save(path, "JPEG", quality=kw.pop("quality", QUALITY), subsampling=2, **kw)
    size = path.stat().st_size
    if size > 150_000:
        raise SystemExit(f"{name} is {size} bytes, over the 150 KB fixture budget")
    print(f"{name:28} {img.size[0]:4}x{img.size[1]:<4} {size:7} bytes")


def gps_exif() -> Image.Exif:
    """EXIF as a phone writes it: make, model, capture time and a GPS position."""
    exif = Image.Exif()
    exif[0x010F] = "EDLTestPhone"  # Make
    exif[0x0110] = "Model GPS-1"  # Model
    exif[0x0132] = "2026:11:02 09:30:00"  # DateTime
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"  # GPSLatitudeRef
    gps[2] = (39.0, 54.0, 27.44)  # GPSLatitude: Tian'anmen, Beijing
    gps[3] = "E"  # GPSLongitudeRef
    gps[4] = (116.0, 23.0, 29.08)  # GPSLongitude
    return exif


def main() -> None:
    sources = fetch_sources()
    astronaut = sources["skimage/data/astronaut.png"]
    coffee = sources["skimage/data/coffee.png"]

    clean, mask = clean_photo(astronaut)
    size = clean.size
    save_jpeg(clean, "clean.jpg")
    # A second photo that meets every rule (the same portrait mirrored): a photo change.
    save_jpeg(ImageOps.mirror(clean), "clean_mirrored.jpg")

    # Background variants: only the backdrop changes, the person is untouched.
    save_jpeg(with_backdrop(clean, mask, Image.new("RGB", size, (172, 172, 172))), "grey_background.jpg")
    save_jpeg(with_backdrop(clean, mask, Image.new("RGB", size, (200, 225, 252))), "blue_background.jpg")
    # A shadow cast on the wall by a lamp on the right: the left side falls off to grey.
    shadow = scale(Image.new("RGB", size, (255, 255, 255)), horizontal_ramp(size, 0.66, 1.0))
    save_jpeg(with_backdrop(clean, mask, shadow), "shadowed_background.jpg")

    # Side light from the left of the picture: the right half of the face falls into shadow
    # (the person only; the backdrop stays white).
    side = scale(clean, horizontal_ramp(size, 1.0, 0.2))
    save_jpeg(with_backdrop(side, mask, Image.new("RGB", size, (255, 255, 255))), "side_lit_face.jpg")

    # Exposure of the whole frame, as a camera would get it wrong.
    save_jpeg(scale(clean, 0.22), "too_dark.jpg")
    save_jpeg(scale(clean, 1.3, 40.0), "blown_out.jpg")

    save_jpeg(clean.filter(ImageFilter.GaussianBlur(4)), "blurred.jpg")

    # The face pushed to the left edge: no licence crop centred on it fits in the frame.
    off = Image.new("RGB", size, (255, 255, 255))
    off.paste(clean, (-int(size[0] * 0.34), 0))
    save_jpeg(off, "off_centre.jpg")

    # Two people side by side, each framed like the clean photo.
    two = Image.new("RGB", (2 * size[0], size[1]), (255, 255, 255))
    two.paste(clean, (0, 0))
    two.paste(ImageOps.mirror(clean), (size[0], 0))
    save_jpeg(two, "two_faces.jpg", quality=80)

    # A real photograph with no face in it (a cup of coffee), at a licence-photo size.
    cup = coffee.crop((150, 0, 150 + 275, 400)).resize(size, Image.LANCZOS)
    save_jpeg(cup, "no_face.jpg")

    # Framed right but far too small: under the 520 px width the upload asks for.
    save_jpeg(clean.resize((240, 348), Image.LANCZOS), "low_resolution.jpg")

    # Stored sideways with EXIF Orientation = 6 ("rotate 90° clockwise to view"), as phones
    # save portrait shots: upright only if the decoder applies the orientation.
    sideways = clean.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    save_jpeg(sideways, "exif_rotated.jpg", exif=exif.tobytes())
    back = ImageOps.exif_transpose(Image.open(OUT / "exif_rotated.jpg"))
    assert back.size == clean.size, "orientation 6 must turn the stored image upright"

    # A camera JPEG with make, model, time and GPS position: normalisation must drop them.
    save_jpeg(clean, "exif_gps.jpg", exif=gps_exif().tobytes())


if __name__ == "__main__":
    main()
