"""Flashing against dd: a 1 GiB raw image to a file target, a 1 GiB image holding 100 MiB of data
(bmap and zero skipping), and the peak memory of streaming a 1 GiB .xz. Prints best-of-N times and
ratios against `dd bs=4M conv=fsync` measured in the same run (targets: raw >= 0.95 of dd's speed,
sparse >= 5x faster than dd, .xz < 64 MiB above the baseline's memory).

    python bench/flash.py [--rounds 3] [--folder DIR]
"""

from __future__ import annotations

import argparse
import lzma
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_hil.images import write_image
from pytest_hil.images.bmap import read_bmap, write_bmap

MIB = 2**20
SIZE = 1024 * MIB
DATA = 100 * MIB


def make_image(path: Path, data: int) -> None:
    """1 GiB: `data` bytes of random data in 10 runs spread over the image, zeros elsewhere."""
    runs = 10
    run, gap = data // runs, (SIZE - data) // runs
    with open(path, "wb") as image:
        for _ in range(runs):
            image.write(os.urandom(run))
            image.write(bytes(gap))
        image.write(bytes(SIZE - image.tell()))


def drop(target: Path) -> None:
    target.unlink(missing_ok=True)


def timed_dd(image: Path, target: Path) -> float:
    drop(target)
    started = time.perf_counter()
    subprocess.run(["dd", f"if={image}", f"of={target}", "bs=4M", "conv=fsync", "status=none"], check=True)
    return time.perf_counter() - started


def timed_write(image: Path, target: Path, **options: object) -> float:
    drop(target)
    started = time.perf_counter()
    write_image(image, target, **options)  # type: ignore[arg-type]
    return time.perf_counter() - started


def peak_rss_mib(code: str) -> float:
    """Peak resident memory of a fresh Python running `code`, in MiB: the child reports its own
    VmHWM (ru_maxrss would carry this process's high-water mark across fork and exec)."""
    report = "; print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"
    result = subprocess.run([sys.executable, "-c", code + report], check=True, capture_output=True, text=True)
    return int(result.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--folder", type=Path, default=None, help="where the images go (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as folder_name:
        folder = Path(folder_name)
        raw, sparse, target = folder / "raw.img", folder / "sparse.img", folder / "target.img"
        make_image(raw, SIZE)
        make_image(sparse, DATA)
        bmap = write_bmap(sparse, folder / "sparse.img.bmap")
        assert read_bmap(folder / "sparse.img.bmap") == bmap

        dd_raw = min(timed_dd(raw, target) for _ in range(args.rounds))
        ours_raw = min(timed_write(raw, target) for _ in range(args.rounds))
        print(f"1 GiB raw to a file:   dd {dd_raw:.2f} s ({SIZE / MIB / dd_raw:.0f} MiB/s), "
              f"pytest-hil {ours_raw:.2f} s ({SIZE / MIB / ours_raw:.0f} MiB/s); "
              f"speed ratio {dd_raw / ours_raw:.2f} (target >= 0.95)")  # fmt: skip

        dd_sparse = min(timed_dd(sparse, target) for _ in range(args.rounds))
        with_bmap = min(timed_write(sparse, target, bmap=bmap) for _ in range(args.rounds))
        skipping = min(timed_write(sparse, target, skip_zeros=True) for _ in range(args.rounds))
        print(f"1 GiB, 100 MiB data:   dd {dd_sparse:.2f} s, bmap {with_bmap:.2f} s ({dd_sparse / with_bmap:.1f}x), "
              f"zero skipping {skipping:.2f} s ({dd_sparse / skipping:.1f}x) (target >= 5x)")  # fmt: skip

        packed = folder / "sparse.img.xz"
        with open(sparse, "rb") as source, lzma.open(packed, "wb", preset=0) as out:
            while chunk := source.read(8 * MIB):
                out.write(chunk)
        baseline = peak_rss_mib("import pytest_hil.images")
        streaming = peak_rss_mib(
            f"from pathlib import Path; from pytest_hil.images import write_image; "
            f"write_image(Path({str(packed)!r}), Path({str(target)!r}))"
        )
        print(f"1 GiB .xz streamed:    peak RSS {streaming:.0f} MiB vs {baseline:.0f} MiB importing only: "
              f"{streaming - baseline:.0f} MiB above baseline (target < 64 MiB)")  # fmt: skip


if __name__ == "__main__":
    main()
