"""bmaptool's block map: which ranges of an image hold data, and their checksums."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from pytest_hil.errors import ImageError

#: Checksums a range may carry: bmap 1.x files use sha1 (a `sha1=` attribute), 2.x name theirs.
CHECKSUM_TYPES = ("sha1", "sha256")


@dataclass(frozen=True)
class BmapRange:
    """Blocks `first`..`last` (inclusive) and the checksum of their bytes (the bmap's ChecksumType)."""

    first: int
    last: int
    checksum: str | None


@dataclass(frozen=True)
class Bmap:
    image_size: int
    block_size: int
    ranges: tuple[BmapRange, ...]
    checksum_type: str

    @property
    def mapped_bytes(self) -> int:
        return sum((r.last - r.first + 1) * self.block_size for r in self.ranges)


def read_bmap(path: Path) -> Bmap:
    """Parse a bmap file (versions 1.x and 2.x); its own checksum is checked when present."""
    if not path.is_file():
        raise ImageError(f"bmap {path} does not exist")
    text = path.read_bytes()
    try:
        root = ET.fromstring(text)
        image_size = int(_text(root, "ImageSize"))
        block_size = int(_text(root, "BlockSize"))
        checksum_type = (root.findtext("ChecksumType") or "sha1").strip().lower()
        ranges = []
        for element in root.iterfind("BlockMap/Range"):
            first, _, last = (element.text or "").strip().partition("-")
            checksum = element.get("chksum") or element.get("sha1")  # 2.x, 1.x
            ranges.append(BmapRange(int(first), int(last or first), checksum.strip() if checksum else None))
    except (ET.ParseError, ValueError) as error:
        raise ImageError(f"bmap {path}: not a valid bmap file: {error}") from None
    if checksum_type not in CHECKSUM_TYPES:
        raise ImageError(
            f"bmap {path}: checksum type {checksum_type!r} is not one this writer checks "
            f"({', '.join(CHECKSUM_TYPES)}): its ranges would go unchecked"
        )
    declared = root.findtext("BmapFileChecksum") or root.findtext("BmapFileSHA1")
    if declared:
        blanked = text.replace(declared.strip().encode(), b"0" * len(declared.strip()))
        actual = hashlib.new(checksum_type, blanked)
        if actual.hexdigest() != declared.strip():
            raise ImageError(f"bmap {path}: the file's own checksum does not match (edited or truncated?)")
    return Bmap(image_size, block_size, tuple(ranges), checksum_type)


def _text(root: ET.Element, tag: str) -> str:
    value = root.findtext(tag)
    if value is None:
        raise ValueError(f"missing <{tag}>")
    return value.strip()


def write_bmap(image: Path, dest: Path, block_size: int = 4096) -> Bmap:
    """Write a bmap (format 2.0, sha256) for a raw image: the ranges of blocks that are not all zero."""
    ranges: list[BmapRange] = []
    zero = bytes(block_size)
    size = image.stat().st_size
    with open(image, "rb") as source:
        index = 0
        start: int | None = None
        digest = hashlib.sha256()
        while block := source.read(block_size):
            if block != zero[: len(block)]:
                if start is None:
                    start, digest = index, hashlib.sha256()
                digest.update(block)
            elif start is not None:
                ranges.append(BmapRange(start, index - 1, digest.hexdigest()))
                start = None
            index += 1
        if start is not None:
            ranges.append(BmapRange(start, index - 1, digest.hexdigest()))
    blocks = (size + block_size - 1) // block_size
    body = "".join(f'        <Range chksum="{r.checksum}"> {r.first}-{r.last} </Range>\n' for r in ranges)
    mapped = sum(r.last - r.first + 1 for r in ranges)
    text = (
        '<?xml version="1.0" ?>\n<bmap version="2.0">\n'
        f"    <ImageSize> {size} </ImageSize>\n    <BlockSize> {block_size} </BlockSize>\n"
        f"    <BlocksCount> {blocks} </BlocksCount>\n    <MappedBlocksCount> {mapped} </MappedBlocksCount>\n"
        f"    <ChecksumType> sha256 </ChecksumType>\n    <BmapFileChecksum> {'0' * 64} </BmapFileChecksum>\n"
        f"    <BlockMap>\n{body}    </BlockMap>\n</bmap>\n"
    )
    checksum = hashlib.sha256(text.encode()).hexdigest()
    dest.write_text(text.replace("0" * 64, checksum, 1))
    return Bmap(size, block_size, tuple(ranges), "sha256")
