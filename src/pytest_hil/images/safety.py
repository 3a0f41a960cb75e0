"""Targets an image must never be written to: the image itself, and a device (or a partition of it)
with a mounted file system."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def refusal(
    image: Path, target: Path, mountinfo: Path = Path("/proc/self/mountinfo"), sysfs: Path = Path("/sys")
) -> str | None:
    """Why writing `image` to `target` would destroy something, or None when it is safe."""
    try:
        if target.exists() and os.path.samefile(image, target):
            return f"the target {target} is the image itself"
    except OSError:
        pass
    try:
        mode = target.stat()
    except OSError:
        return None
    if not stat.S_ISBLK(mode.st_mode):
        return None
    devices = _with_partitions(mode.st_rdev, sysfs)
    for mounted, where in _mounts(mountinfo):
        if mounted in devices:
            number = f"{os.major(mounted)}:{os.minor(mounted)}"
            return f"{target} (or its partition {number}) is mounted on {where}: unmount it first"
    return None


def _with_partitions(device: int, sysfs: Path) -> set[int]:
    """The device and its partitions, from sysfs."""
    found = {device}
    folder = sysfs / "dev" / "block" / f"{os.major(device)}:{os.minor(device)}"
    try:
        children = list(folder.resolve().iterdir())
    except OSError:
        return found
    for child in children:
        try:
            if (child / "partition").exists():
                major, minor = (child / "dev").read_text().strip().split(":")
                found.add(os.makedev(int(major), int(minor)))
        except (OSError, ValueError):
            continue
    return found


def _mounts(mountinfo: Path) -> list[tuple[int, str]]:
    """(device number, mount point) of every mounted file system."""
    mounts: list[tuple[int, str]] = []
    try:
        lines = mountinfo.read_text().splitlines()
    except OSError:
        return mounts
    for line in lines:
        fields = line.split()
        try:
            major, minor = fields[2].split(":")
            point = fields[4].encode().decode("unicode_escape")  # mountinfo writes spaces as \040
        except (IndexError, ValueError):
            continue
        mounts.append((os.makedev(int(major), int(minor)), point))
    return mounts
