"""Comparing a frame with a reference by perceptual hash, and the pictures that explain a mismatch."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # Pillow is imported when frames are compared, so drivers load without it
    from PIL import Image

HashKind = Literal["phash", "ahash", "dhash", "whash", "colorhash"]
Region = tuple[int, int, int, int]


def load(reference: Any) -> Image.Image:
    """A PIL image from an image or a path."""
    from PIL import Image

    if isinstance(reference, Image.Image):
        return reference
    with Image.open(Path(reference)) as opened:
        image: Image.Image = opened.copy()
    return image


def frame_hash(image: Image.Image, kind: HashKind, region: Region | None) -> Any:
    import imagehash

    if region is not None:
        image = image.crop(region)
    functions: dict[str, Any] = {
        "phash": imagehash.phash,
        "ahash": imagehash.average_hash,
        "dhash": imagehash.dhash,
        "whash": imagehash.whash,
        "colorhash": imagehash.colorhash,
    }
    return functions[kind](image)


def distance(actual: Image.Image, reference: Image.Image, kind: HashKind, region: Region | None) -> int:
    """Hamming distance of the two images' hashes (0: the same picture to this hash)."""
    return int(frame_hash(actual, kind, region) - frame_hash(reference, kind, region))


def side_by_side(actual: Image.Image, reference: Image.Image, region: Region | None) -> Image.Image:
    """Reference | actual | their difference (brightened), the compared region outlined in each."""
    from PIL import Image, ImageChops, ImageDraw

    reference = (
        reference.convert("RGB").resize(actual.size) if reference.size != actual.size else reference.convert("RGB")
    )
    actual = actual.convert("RGB")
    difference = ImageChops.difference(actual, reference).point(lambda value: min(255, value * 4))
    width, height = actual.size
    canvas = Image.new("RGB", (width * 3, height + 20), (32, 32, 32))
    draw = ImageDraw.Draw(canvas)
    for index, (title, picture) in enumerate(
        (("reference", reference), ("actual", actual), ("difference", difference))
    ):
        canvas.paste(picture, (index * width, 20))
        draw.text((index * width + 4, 4), title, fill=(255, 255, 255))
        if region is not None:
            left, top, right, bottom = region
            draw.rectangle((index * width + left, 20 + top, index * width + right, 20 + bottom), outline=(255, 0, 0))
    return canvas


def save_mismatch(
    folder: Path, stem: str, actual: Image.Image, reference: Image.Image, region: Region | None
) -> list[Path]:
    """Write `<stem>-actual.png`, `<stem>-reference.png`, `<stem>-diff.png`; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}-{what}.png" for what in ("actual", "reference", "diff")]
    actual.convert("RGB").save(paths[0])
    reference.convert("RGB").save(paths[1])
    side_by_side(actual, reference, region).save(paths[2])
    return paths
