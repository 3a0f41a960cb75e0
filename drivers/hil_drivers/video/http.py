"""Frames over HTTP: `http-snapshot` (any URL that answers with an image) and `ustreamer` (PiKVM's
streamer: `/snapshot`, and `/state` for resolution, signal and frame rate)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from hil_drivers.video.snapshots import SnapshotVideo
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import DriverContext

if TYPE_CHECKING:
    from PIL import Image


@dataclass(frozen=True)
class HttpSnapshotOptions:
    url: str = field(
        metadata={"help": "where a GET returns the current frame (JPEG, PNG, ...)", "schemes": ("http", "https")}
    )
    timeout: float = field(default=5.0, metadata={"help": "seconds for one request", "above": 0})


@dataclass(frozen=True)
class UstreamerOptions:
    url: str = field(
        metadata={"help": "the streamer's base URL, e.g. http://labhost-1:8080", "schemes": ("http", "https")}
    )
    timeout: float = field(default=5.0, metadata={"help": "seconds for one request", "above": 0})


#: The options of a driver fetching frames over HTTP.
_FramesOptions = TypeVar("_FramesOptions", HttpSnapshotOptions, UstreamerOptions)


class _HttpFrames(SnapshotVideo[_FramesOptions]):
    extra_modules = ("requests",)

    def __init__(self, options: _FramesOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        import requests

        self.http = requests.Session()

    def _get(self, url: str) -> Any:
        import requests

        try:
            answer = self.http.get(url, timeout=self.options.timeout)
        except requests.RequestException as error:
            raise DriverError(f"{self.context}: GET {url}: {error}") from None
        if answer.status_code != 200:
            raise DriverError(f"{self.context}: GET {url}: HTTP {answer.status_code} {answer.text[:200]!r}")
        return answer

    def _image(self, url: str) -> Image.Image:
        from PIL import Image, UnidentifiedImageError

        answer = self._get(url)
        try:
            image = Image.open(io.BytesIO(answer.content))
            image.load()
        except (UnidentifiedImageError, OSError) as error:
            kind = answer.headers.get("Content-Type", "unknown type")
            raise DriverError(
                f"{self.context}: GET {url}: not an image ({kind}, {len(answer.content)} bytes): {error}"
            ) from None
        return image

    def close(self) -> None:
        self.http.close()


class HttpSnapshot(_HttpFrames[HttpSnapshotOptions]):
    """Any URL that returns the current frame."""

    kind = "http-snapshot"
    Options = HttpSnapshotOptions

    def snapshot(self) -> Image.Image:
        return self._image(self.options.url)


class Ustreamer(_HttpFrames[UstreamerOptions]):
    """ustreamer (the HDMI capture streamer of PiKVM and many labs)."""

    kind = "ustreamer"
    Options = UstreamerOptions

    def snapshot(self) -> Image.Image:
        return self._image(self.options.url.rstrip("/") + "/snapshot")

    def state(self) -> dict[str, Any]:
        """The streamer's `/state` result: `source.resolution`, `source.online`, `source.captured_fps`, ..."""
        url = self.options.url.rstrip("/") + "/state"
        try:
            body = self._get(url).json()
        except ValueError as error:
            raise DriverError(f"{self.context}: GET {url}: not JSON: {error}") from None
        if not body.get("ok"):
            raise DriverError(f"{self.context}: GET {url}: ustreamer says not ok: {body}")
        return dict(body["result"])
