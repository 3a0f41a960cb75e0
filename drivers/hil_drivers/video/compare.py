"""Comparing a frame with a reference, and the pictures that explain a mismatch.

The default method, `blocks`, blurs both pictures a little (radius 3 px), divides them into a grid
of 32 x 24 cells and counts the cells whose mean colour differs by more than 32 (of 255) in any
channel: the distance is that count. It sees what a person sees on a console screen: a line of text
that appears, goes or changes, a colour bar, a dialog; it ignores JPEG artefacts, sensor noise and a
shift of a few pixels. It misses changes within one cell too small or faint to move the cell's mean
by 32 (one character replaced by a similar one, a dim pixel): compare a `region` for those. The
perceptual hashes (`phash`, `ahash`, `dhash`, `whash`, `colorhash`) see the overall picture and
miss small text on a uniform screen (a login screen and a shell screen can hash alike).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # Pillow is imported when frames are compared, so drivers load without it
    from PIL import Image

HashKind = Literal["blocks", "phash", "ahash", "dhash", "whash", "colorhash"]
#: The distance each method accepts by default: no differing cell for `blocks` but noise's one or two.
DEFAULT_MAX_DISTANCE: dict[str, int] = {"blocks": 2, "phash": 5, "ahash": 5, "dhash": 5, "whash": 5, "colorhash": 5}
GRID = (32, 24)
BLUR = 3
CELL_THRESHOLD = 32
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
    """How far apart two pictures are: differing cells for `blocks`, else the Hamming distance of
    their hashes (0: the same picture to this method)."""
    if kind == "blocks":
        return differing_cells(actual, reference, region)
    return int(frame_hash(actual, kind, region) - frame_hash(reference, kind, region))


def differing_cells(actual: Image.Image, reference: Image.Image, region: Region | None) -> int:
    """The `blocks` distance (see the module's docstring)."""
    from PIL import Image, ImageChops, ImageFilter

    actual = actual.convert("RGB")
    reference = reference.convert("RGB").resize(actual.size) if reference.size != actual.size else reference
    if region is not None:
        actual, reference = actual.crop(region), reference.convert("RGB").crop(region)

    def cells(picture: Image.Image) -> Image.Image:
        return picture.convert("RGB").filter(ImageFilter.GaussianBlur(BLUR)).resize(GRID, Image.Resampling.BOX)

    difference = ImageChops.difference(cells(actual), cells(reference))
    red, green, blue = (
        channel.point(lambda value: 255 if value > CELL_THRESHOLD else 0) for channel in difference.split()
    )
    differing = ImageChops.lighter(ImageChops.lighter(red, green), blue)  # any channel over the threshold
    return int(differing.histogram()[255])


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
