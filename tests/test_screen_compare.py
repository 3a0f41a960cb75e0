"""The default screen comparison tells every pair of the examples' reference screens apart, with a
margin, and still matches a screen after JPEG re-encoding, a 2-pixel shift and mild noise."""

from __future__ import annotations

import io
import itertools
import random

import pytest
from PIL import Image, ImageChops

from hil_drivers.video.compare import DEFAULT_MAX_DISTANCE, distance
from tests.conftest import REPO

SCREENS = REPO / "conftest_examples" / "screens"


def screens() -> dict[str, Image.Image]:
    found = {path.stem: Image.open(path).convert("RGB") for path in sorted(SCREENS.glob("*.png"))}
    hello = found["hello"]
    found["shell-wrote-nothing"] = Image.new("RGB", hello.size, hello.getpixel((hello.width - 1, hello.height - 1)))
    return found


def jpeg(picture: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=70)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def shifted(picture: Image.Image) -> Image.Image:
    return ImageChops.offset(picture, 2, 2)


def noisy(picture: Image.Image) -> Image.Image:
    rng = random.Random(7)
    noise = Image.new("RGB", picture.size)
    noise.putdata([tuple(rng.randint(0, 16) for _ in range(3)) for _ in range(picture.width * picture.height)])
    return ImageChops.add(ImageChops.subtract(picture, Image.new("RGB", picture.size, (8, 8, 8))), noise)


SCREENS_NOW = screens()
LIMIT = DEFAULT_MAX_DISTANCE["blocks"]


@pytest.mark.parametrize(("one", "other"), list(itertools.combinations(sorted(SCREENS_NOW), 2)))
def test_every_pair_of_distinct_screens_is_told_apart_with_a_margin(one: str, other: str) -> None:
    found = distance(SCREENS_NOW[one], SCREENS_NOW[other], "blocks", None)
    assert found >= 3 * LIMIT, f"{one} vs {other}: {found} differing cells"


@pytest.mark.parametrize("name", sorted(SCREENS_NOW))
@pytest.mark.parametrize("change", [jpeg, shifted, noisy, lambda picture: noisy(shifted(jpeg(picture)))])
def test_the_same_screen_still_matches_after_capture_damage(name: str, change: object) -> None:
    picture = SCREENS_NOW[name]
    assert distance(change(picture), picture, "blocks", None) <= LIMIT  # type: ignore[operator]


def test_the_old_default_hash_could_not_tell_login_from_shell() -> None:
    """Why `blocks` is the default: to phash, the login screen and the shell's screen are one picture."""
    assert distance(SCREENS_NOW["login"], SCREENS_NOW["hello"], "phash", None) <= DEFAULT_MAX_DISTANCE["phash"]
    assert distance(SCREENS_NOW["login"], SCREENS_NOW["hello"], "blocks", None) > LIMIT
