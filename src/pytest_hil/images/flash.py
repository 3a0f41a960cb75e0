"""What every storage driver does to flash: find the bmap, log, show progress, report failures as
the board's.

Drivers decide where the bytes go (a device that appeared after a mux switch, a disk image, the sim
board's boot medium) and whether skipping zeros is safe there; `flash` does the rest the same way
for all of them.
"""

from __future__ import annotations

import time
from pathlib import Path

from pytest_hil.errors import DriverError, ImageError
from pytest_hil.images.bmap import read_bmap
from pytest_hil.images.formats import uncompressed_name
from pytest_hil.images.safety import refusal
from pytest_hil.images.writer import CHUNK, WriteReport, write_image
from pytest_hil.interfaces import DriverContext


def find_bmap(image: Path) -> Path | None:
    """`disk.img.bmap` beside `disk.img` or `disk.img.xz`."""
    for candidate in (image.with_name(image.name + ".bmap"), image.with_name(uncompressed_name(image) + ".bmap")):
        if candidate.is_file():
            return candidate
    return None


def flash(context: DriverContext, image: Path, target: Path, *, verify: bool, skip_zeros: bool) -> WriteReport:
    """Write `image` to `target` (with its bmap when one lies beside it), noted in the board's
    console logs and shown as progress; any failure is a `DriverError` naming board and resource."""
    refused = refusal(image, target)
    if refused is not None:
        context.logs.note(f"[hil] flash refused: {refused}")
        raise DriverError(f"{context}: refusing to flash {image.name}: {refused}")
    bmap_path = find_bmap(image)
    context.logs.note(f"[hil] flash {image.name} -> {target}" + (f" (bmap {bmap_path.name})" if bmap_path else ""))
    task = context.progress.task(f"flash {context.board} {context.resource}: {image.name}")
    try:
        bmap = read_bmap(bmap_path) if bmap_path else None
        report = write_image(
            image, target, bmap=bmap, skip_zeros=skip_zeros and bmap is None, verify=verify, progress=task.update
        )
    except ImageError as error:
        context.logs.note(f"[hil] flash failed: {error}")
        raise DriverError(f"{context}: {error}") from None
    except OSError as error:
        context.logs.note(f"[hil] flash failed: {error}")
        raise DriverError(f"{context}: writing {target}: {error.strerror or error}") from None
    finally:
        task.finish()
    covered = "the bmap's mapped ranges" if bmap is not None else "the whole image"
    context.logs.note(
        f"[hil] flashed {report.size} bytes ({report.written} written) in {report.seconds:.1f} s"
        + (f", verified: sha256 {report.sha256[:16]} of {covered}" if report.sha256 else "")
    )
    return report


def read_back(context: DriverContext, source: Path, dest: Path, size: int) -> None:
    """Copy the first `size` bytes of `source` to `dest`; fewer is an error."""
    with open(source, "rb") as device, open(dest, "wb") as out:
        remaining = size
        while remaining > 0 and (chunk := device.read(min(remaining, CHUNK))):
            out.write(chunk)
            remaining -= len(chunk)
    if remaining:
        raise DriverError(f"{context}: {source} holds fewer than {size} bytes")


def wait_for(context: DriverContext, path: Path, timeout: float) -> Path:
    """`path` once it exists: a device may enumerate seconds after a mux switch."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise DriverError(f"{context}: {path} did not appear within {timeout:g} s")
        time.sleep(0.05)
    return path
