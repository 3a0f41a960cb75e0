"""Writing images: every compressed form byte-exact, bmap and zero skipping, and the failures."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

from pytest_hil.errors import ImageError
from pytest_hil.images import read_bmap, write_image
from pytest_hil.images.bmap import write_bmap

MIB = 1024 * 1024


#: A 256 MiB disk: random data at the start, middle and end, zeros between (like a partitioned disk).
SIZE_MIB = 256
DATA_MIB = (0, 1, 128, 255)


@pytest.fixture(scope="module")
def raw_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("images") / "disk.img"
    with open(path, "wb") as image:
        for index in range(SIZE_MIB):
            image.write(os.urandom(MIB) if index in DATA_MIB else bytes(MIB))
    return path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(8 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


def _compressor(path: Path, suffix: str) -> IO[bytes]:
    """A file that compresses what is written to it as `suffix` says (fast settings: test data)."""
    if suffix == ".gz":
        return gzip.open(path, "wb", compresslevel=1)
    if suffix == ".xz":
        return lzma.open(path, "wb", preset=0)
    if suffix == ".bz2":
        return bz2.open(path, "wb", compresslevel=1)
    zstandard = pytest.importorskip("zstandard")
    return zstandard.open(path, "wb", cctx=zstandard.ZstdCompressor(level=3))  # type: ignore[no-any-return]


def compressed(raw: Path, suffix: str) -> Path:
    """`raw` compressed as its suffix says, streamed (made once per module)."""
    path = raw.with_name(raw.name + suffix)
    if not path.exists():
        with open(raw, "rb") as source, _compressor(path, suffix) as out:
            while chunk := source.read(8 * MIB):
                out.write(chunk)
    return path


@pytest.mark.parametrize("suffix", ["", ".gz", ".xz", ".bz2", ".zst"])
def test_every_form_of_a_256_mib_image_is_written_byte_exact(raw_image: Path, tmp_path: Path, suffix: str) -> None:
    image = compressed(raw_image, suffix) if suffix else raw_image
    report = write_image(image, tmp_path / "target", verify=True)
    assert sha256(tmp_path / "target") == sha256(raw_image)
    assert report.size == SIZE_MIB * MIB and report.written == SIZE_MIB * MIB
    assert report.sha256 == sha256(raw_image)


def test_zst_without_zstandard_says_what_to_install(
    raw_image: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = tmp_path / "disk.img.zst"
    image.write_bytes(b"\x28\xb5\x2f\xfd")
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(ImageError, match=r"\.zst needs the zstandard package \(pip install zstandard\)"):
        write_image(image, tmp_path / "target")


def test_zero_skipping_writes_only_data_and_still_reads_back_exact(raw_image: Path, tmp_path: Path) -> None:
    report = write_image(raw_image, tmp_path / "target", skip_zeros=True, verify=True)
    assert report.written == len(DATA_MIB) * MIB and report.skipped == (SIZE_MIB - len(DATA_MIB)) * MIB
    assert sha256(tmp_path / "target") == sha256(raw_image)
    assert os.stat(tmp_path / "target").st_blocks * 512 < 8 * MIB  # the zeros are holes
    assert report.size == SIZE_MIB * MIB


def test_a_bmap_writes_its_ranges_and_checks_them(raw_image: Path, tmp_path: Path) -> None:
    bmap = write_bmap(raw_image, tmp_path / "disk.img.bmap")
    assert read_bmap(tmp_path / "disk.img.bmap") == bmap
    report = write_image(compressed(raw_image, ".xz"), tmp_path / "target", bmap=bmap, verify=True)
    assert report.written == len(DATA_MIB) * MIB
    assert sha256(tmp_path / "target") == sha256(raw_image)


def test_a_bmap_checksum_mismatch_fails(raw_image: Path, tmp_path: Path) -> None:
    bmap = write_bmap(raw_image, tmp_path / "disk.img.bmap")
    changed = tmp_path / "changed.img"
    data = bytearray(raw_image.read_bytes())
    data[128 * MIB + 100] ^= 0xFF
    changed.write_bytes(data)
    with pytest.raises(ImageError, match=rf"image {changed}: blocks \d+-\d+ do not match the bmap's sha256 checksum"):
        write_image(changed, tmp_path / "target", bmap=bmap)


def test_an_edited_bmap_file_is_refused(raw_image: Path, tmp_path: Path) -> None:
    write_bmap(raw_image, tmp_path / "disk.img.bmap")
    text = (tmp_path / "disk.img.bmap").read_text().replace("<BlockSize> 4096", "<BlockSize> 8192")
    (tmp_path / "disk.img.bmap").write_text(text)
    with pytest.raises(ImageError, match=r"the file's own checksum does not match"):
        read_bmap(tmp_path / "disk.img.bmap")


def test_an_image_smaller_than_its_bmap_says_fails(raw_image: Path, tmp_path: Path) -> None:
    bmap = write_bmap(raw_image, tmp_path / "disk.img.bmap")
    short = tmp_path / "short.img"
    short.write_bytes(raw_image.read_bytes()[: 200 * MIB])
    with pytest.raises(ImageError, match=r"is smaller than its bmap says"):
        write_image(short, tmp_path / "target", bmap=bmap)


def test_a_corrupt_xz_fails_clearly(raw_image: Path, tmp_path: Path) -> None:
    data = bytearray(compressed(raw_image, ".xz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "bad.img.xz").write_bytes(data)
    with pytest.raises(ImageError, match=rf"image {tmp_path}/bad.img.xz is corrupt or truncated: "):
        write_image(tmp_path / "bad.img.xz", tmp_path / "target")


def test_a_truncated_gz_fails_clearly(raw_image: Path, tmp_path: Path) -> None:
    data = compressed(raw_image, ".gz").read_bytes()
    (tmp_path / "cut.img.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"is corrupt or truncated: Compressed file ended before"):
        write_image(tmp_path / "cut.img.gz", tmp_path / "target")


def test_a_missing_image_is_named(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match=rf"image {tmp_path}/nope.img does not exist"):
        write_image(tmp_path / "nope.img", tmp_path / "target")


def test_a_compressed_image_reports_the_share_of_the_file_read(tmp_path: Path) -> None:
    payload = os.urandom(8 * MIB)
    image = tmp_path / "disk.img.xz"
    image.write_bytes(lzma.compress(payload, preset=0))
    seen: list[tuple[int, int, float | None]] = []
    write_image(image, tmp_path / "target", progress=lambda done, total, share: seen.append((done, total, share)))
    assert all(total == 0 for _, total, _ in seen)
    shares = [share for _, _, share in seen]
    assert all(share is not None and 0 < share <= 1 for share in shares)
    assert shares == sorted(shares) and shares[-1] == 1  # type: ignore[comparison-overlap]


def test_progress_is_reported(raw_image: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    write_image(raw_image, tmp_path / "target", progress=lambda done, total, share: seen.append((done, total)))
    assert seen[-1] == (SIZE_MIB * MIB, SIZE_MIB * MIB)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def small_image(tmp_path: Path) -> Path:
    path = tmp_path / "small.img"
    path.write_bytes(os.urandom(64 * 1024) + bytes(128 * 1024) + os.urandom(40 * 1024))
    return path


def bmap_1x(image: Path, dest: Path, checksums: str = "right") -> None:
    """A bmap in format 1.3 (bmaptool before 3.0): `sha1=` on each range, `BmapFileSHA1`."""
    data = image.read_bytes()
    block = 4096
    ranges = [(0, 15), (48, 57)]  # the two data parts of `small_image`
    body = ""
    for first, last in ranges:
        digest = hashlib.sha1(data[first * block : (last + 1) * block]).hexdigest()
        body += f'        <Range sha1="{digest if checksums == "right" else "0" * 40}"> {first}-{last} </Range>\n'
    text = (
        '<?xml version="1.0" ?>\n<bmap version="1.3">\n'
        f"    <ImageSize> {len(data)} </ImageSize>\n    <BlockSize> {block} </BlockSize>\n"
        f"    <BlocksCount> {len(data) // block} </BlocksCount>\n    <MappedBlocksCount> 26 </MappedBlocksCount>\n"
        f"    <BmapFileSHA1> {'0' * 40} </BmapFileSHA1>\n    <BlockMap>\n{body}    </BlockMap>\n</bmap>\n"
    )
    dest.write_text(text.replace("0" * 40, hashlib.sha1(text.encode()).hexdigest(), 1))


def test_a_bmap_1x_file_has_its_sha1_ranges_checked(tmp_path: Path) -> None:
    image = small_image(tmp_path)
    bmap_1x(image, tmp_path / "small.img.bmap")
    bmap = read_bmap(tmp_path / "small.img.bmap")
    assert bmap.checksum_type == "sha1" and all(r.checksum for r in bmap.ranges)
    write_image(image, tmp_path / "target", bmap=bmap)
    assert (tmp_path / "target").read_bytes() == image.read_bytes()
    changed = tmp_path / "changed.img"
    data = bytearray(image.read_bytes())
    data[100] ^= 0xFF
    changed.write_bytes(data)
    with pytest.raises(ImageError, match=r"blocks 0-15 do not match the bmap's sha1 checksum"):
        write_image(changed, tmp_path / "target", bmap=bmap)


def test_ranges_with_all_zero_checksums_are_refused(tmp_path: Path) -> None:
    image = small_image(tmp_path)
    bmap_1x(image, tmp_path / "small.img.bmap", checksums="zeros")
    with pytest.raises(ImageError, match=r"blocks 0-15 do not match the bmap's sha1 checksum"):
        write_image(image, tmp_path / "target", bmap=read_bmap(tmp_path / "small.img.bmap"))


def test_an_unknown_checksum_type_is_refused_naming_the_file(raw_image: Path, tmp_path: Path) -> None:
    path = tmp_path / "disk.img.bmap"
    write_bmap(raw_image, path)
    text = path.read_text()
    start = text.index("<BmapFileChecksum>")
    end = text.index("</BmapFileChecksum>")
    path.write_text((text[:start] + text[end + len("</BmapFileChecksum>") :]).replace("sha256", "md5", 1))
    with pytest.raises(ImageError) as raised:
        read_bmap(path)
    assert str(raised.value) == (
        f"bmap {path}: checksum type 'md5' is not one this writer checks (sha1, sha256): its ranges would go unchecked"
    )


bmaptool = shutil.which("bmaptool")


@pytest.mark.skipif(bmaptool is None and not os.environ.get("CI"), reason="bmaptool not installed (.ci/stand-ins)")
def test_bmap_files_work_both_ways_with_bmaptool(tmp_path: Path) -> None:
    image = small_image(tmp_path)
    subprocess.run(["bmaptool", "create", "-o", str(tmp_path / "theirs.bmap"), str(image)], check=True)
    theirs = read_bmap(tmp_path / "theirs.bmap")
    write_image(image, tmp_path / "ours-target", bmap=theirs, verify=True)
    assert (tmp_path / "ours-target").read_bytes() == image.read_bytes()
    write_bmap(image, tmp_path / "ours.bmap")
    (tmp_path / "their-target").write_bytes(b"")
    subprocess.run(
        ["bmaptool", "copy", "--bmap", str(tmp_path / "ours.bmap"), str(image), str(tmp_path / "their-target")],
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "their-target").read_bytes() == image.read_bytes()
