"""Console logging cost: bytes through a pty read raw, against the same bytes through a pytest-hil
console that logs every byte to a file and hands it to pexpect. Prints medians and the ratio
(target: logging costs under 10%).

    python bench/console_logging.py [--megabytes 64] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import tty
from dataclasses import dataclass
from pathlib import Path

from pytest_hil.console.byte_streams import FdStream
from pytest_hil.console.log import BoardLogs
from pytest_hil.console.stream_console import StreamConsole
from pytest_hil.interfaces import DriverContext

CHUNK = b"0123456789abcdef" * 4096  # 64 KiB of console text


@dataclass(frozen=True)
class _Options:
    pass


class PtyConsole(StreamConsole):
    kind = "bench-pty"


def feed(fd: int, total: int) -> threading.Thread:
    def write() -> None:
        sent = 0
        while sent < total:
            sent += os.write(fd, CHUNK[: min(len(CHUNK), total - sent)])

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def raw(total: int) -> float:
    master, slave = os.openpty()
    tty.setraw(slave)
    started = time.perf_counter()
    writer = feed(slave, total)
    received = 0
    while received < total:
        received += len(os.read(master, 65536))  # blocking: the tightest loop Python allows
    elapsed = time.perf_counter() - started
    writer.join()
    os.close(master)
    os.close(slave)
    return elapsed


def logged(total: int, folder: Path) -> float:
    master, slave = os.openpty()
    tty.setraw(slave)
    logs = BoardLogs("bench", folder)
    console = PtyConsole(_Options(), DriverContext("bench", "console", folder, {}, logs), timeout=30)
    started = time.perf_counter()
    console.attach(FdStream(master))
    writer = feed(slave, total)
    received = 0
    while received < total:
        received += len(console.read_nonblocking(65536, timeout=5))
    elapsed = time.perf_counter() - started
    writer.join()
    console.close()
    logs.close()
    os.close(slave)
    size = (folder / "session" / "bench.console.log").stat().st_size
    assert size == total, f"the log holds {size} of {total} bytes"
    (folder / "session" / "bench.console.log").unlink()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    total = options.megabytes * 1024 * 1024
    raws, logs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(options.rounds):
            raws.append(raw(total))
            logs.append(logged(total, Path(tmp)))
    raw_time, logged_time = statistics.median(raws), statistics.median(logs)
    mb = options.megabytes
    print(f"{mb} MiB through a pty, median of {options.rounds} interleaved rounds")
    print(f"raw reads: {mb / raw_time:.0f} MiB/s; logged console (file + pexpect buffer): {mb / logged_time:.0f} MiB/s")
    cost = logged_time / raw_time - 1
    print(f"logging cost: {cost:+.1%} (target < 10%): {'OK' if cost < 0.10 else 'MISSED'}")


if __name__ == "__main__":
    main()
