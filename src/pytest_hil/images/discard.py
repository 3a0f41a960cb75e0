"""Discarding a block device, so that skipping all-zero blocks is safe on it afterwards.

After BLKDISCARD many devices read back zeros where they were discarded, but not all do (the kernel
no longer promises it). `discard` therefore samples the device after discarding and reports whether
it reads back zeros; only then do writers skip zeros on it.
"""

from __future__ import annotations

import fcntl
import os
import struct

#: ioctl numbers from <linux/fs.h>: _IO(0x12, 119).
BLKDISCARD = 0x1277
SAMPLE = 64 * 1024


def discard(fd: int, size: int) -> bool:
    """Discard the first `size` bytes of the device open on `fd`; True when it then reads zeros at
    its start, middle and end (False: no discard support, or discarded blocks keep their data)."""
    try:
        fcntl.ioctl(fd, BLKDISCARD, struct.pack("QQ", 0, size))
    except OSError:
        return False
    for offset in (0, size // 2, max(size - SAMPLE, 0)):
        if os.pread(fd, SAMPLE, offset).count(0) != min(SAMPLE, size - offset):
            return False
    return True
