"""What every video driver does with its frames: compare them, wait for one, explain a mismatch."""

from __future__ import annotations

import abc
import importlib.util
import time
from typing import TYPE_CHECKING, Any

from hil_drivers.video.compare import DEFAULT_MAX_DISTANCE, HashKind, Region, distance, load, save_mismatch
from pytest_hil.errors import DriverError, DriverUnavailable, HilError
from pytest_hil.interfaces import DriverContext, OptionsT, Video

if TYPE_CHECKING:
    from PIL import Image


class FrameMismatch(HilError, AssertionError):
    """The display does not show the reference: a test failure, with pictures saved beside its logs."""


class SnapshotVideo(Video[OptionsT]):
    """A display read one frame at a time with `snapshot()`; needs Pillow and imagehash (`video` extra)
    and, for `extra_modules`, what the driver itself needs."""

    extra_modules: tuple[str, ...] = ()

    def __init__(self, options: Any, context: DriverContext) -> None:
        super().__init__(options, context)
        for module in ("PIL", "imagehash", *self.extra_modules):
            if importlib.util.find_spec(module) is None:
                raise DriverUnavailable(f"{context}: {module} is not installed (pip install 'pytest-hil[video]')")

    @abc.abstractmethod
    def snapshot(self) -> Image.Image: ...

    def assert_matches(
        self,
        reference: Any,
        max_distance: int | None = None,
        hash: HashKind = "blocks",
        region: Region | None = None,
    ) -> None:
        """The current frame is within `max_distance` of `reference` (a path or an image) by `hash`
        (default: the `blocks` comparison, at most 2 differing cells; the hashes: 5 bits), optionally
        over `region` = (left, top, right, bottom)."""
        max_distance = DEFAULT_MAX_DISTANCE[hash] if max_distance is None else max_distance
        expected = self._reference(reference)
        actual = self.snapshot()
        found = distance(actual, expected, hash, region)
        if found > max_distance:
            self._fail(actual, expected, found, max_distance, hash, region, "")

    def wait_for_match(
        self,
        reference: Any,
        timeout: float = 10.0,
        max_distance: int | None = None,
        hash: HashKind = "blocks",
        region: Region | None = None,
        interval: float = 0.2,
    ) -> Image.Image:
        """Take frames every `interval` seconds until one matches; returns it, fails after `timeout`."""
        max_distance = DEFAULT_MAX_DISTANCE[hash] if max_distance is None else max_distance
        expected = self._reference(reference)
        deadline = time.monotonic() + timeout
        while True:
            actual = self.snapshot()
            found = distance(actual, expected, hash, region)
            if found <= max_distance:
                return actual
            if time.monotonic() >= deadline:
                self._fail(actual, expected, found, max_distance, hash, region, f" within {timeout:g} s")
            time.sleep(interval)

    def _reference(self, reference: Any) -> Image.Image:
        try:
            return load(reference)
        except (OSError, ValueError) as error:  # missing, unreadable, not an image
            raise DriverError(f"{self.context}: reference image {reference}: {error}") from None

    def _fail(
        self,
        actual: Image.Image,
        expected: Image.Image,
        found: int,
        limit: int,
        hash: str,
        region: Region | None,
        waited: str,
    ) -> None:
        logs = self.context.logs
        folder = logs.artifact_dir()
        number = 1  # the test's first mismatch on this display is 1, its next 2, ...
        while (folder / f"{self.context.resource}-mismatch-{number}-actual.png").exists():
            number += 1
        paths = save_mismatch(folder, f"{self.context.resource}-mismatch-{number}", actual, expected, region)
        for path in paths:
            logs.attach(path)
        where = f" in region {region}" if region else ""
        raise FrameMismatch(
            f"{self.context}: the frame does not match the reference{waited}: {hash} distance {found} > {limit}"
            f"{where}; saved {paths[0].name}, {paths[1].name}, {paths[2].name} in {paths[0].parent}"
        )
