"""A stream as if behind a UART: bytes go no faster than the line rate either way, in order, and
all of them (a real pseudo-terminal pair underneath). Only lower bounds on time are asserted: a busy
machine can make the line slower, never faster."""

from __future__ import annotations

import os
import pty
import time
import tty
from collections.abc import Iterator

import pytest

from pytest_hil.console.byte_streams import FdStream, UartStream

BAUD = 1200  # 120 bytes a second


@pytest.fixture
def line() -> Iterator[tuple[UartStream, int]]:
    """Our end through the UART, and the board's end of the pseudo-terminal (raw)."""
    board, ours = pty.openpty()
    tty.setraw(board)
    tty.setraw(ours)
    stream = UartStream(FdStream(ours), BAUD)
    yield stream, board
    stream.close()
    os.close(board)


def test_what_the_board_sends_arrives_at_the_line_rate_in_order(line: tuple[UartStream, int]) -> None:
    stream, board = line
    sent = bytes(range(48, 108))  # 60 bytes: half a second on the line
    started = time.monotonic()
    os.write(board, sent)
    received = b""
    while len(received) < len(sent):
        received += stream.read(1024, 2.0)
    assert received == sent
    assert time.monotonic() - started >= len(sent) * 10 / BAUD * 0.95


def test_a_write_takes_the_lines_time_and_arrives_whole(line: tuple[UartStream, int]) -> None:
    stream, board = line
    started = time.monotonic()
    stream.write(b"x" * 30)
    stream.write(b"y" * 30)  # queued behind the first: the line is busy
    assert time.monotonic() - started >= 60 * 10 / BAUD * 0.95
    arrived = b""
    while len(arrived) < 60:
        arrived += os.read(board, 1024)
    assert arrived == b"x" * 30 + b"y" * 30


def test_a_read_with_nothing_coming_waits_its_timeout_and_returns_nothing(line: tuple[UartStream, int]) -> None:
    stream, _ = line
    assert stream.read(10, 0.05) == b""
