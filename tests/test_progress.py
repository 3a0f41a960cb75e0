"""Progress of long operations: quiet when short, a redrawn bar on a live terminal, lines otherwise."""

from __future__ import annotations

from pytest_hil.progress import Progress

MIB = 2**20


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run(live: bool, steps: list[tuple[float, int]], total: int) -> str:
    out: list[str] = []
    clock = Clock()
    task = Progress(out.append, live=live, delay=2.0, clock=clock).task("flash b storage: disk.img")
    for at, done in steps:
        clock.now = 100.0 + at
        task.update(done, total)
    task.finish()
    return "".join(out)


def test_a_short_operation_shows_nothing() -> None:
    assert run(True, [(0.5, 10 * MIB), (1.5, 20 * MIB)], 20 * MIB) == ""


def test_a_live_terminal_gets_one_redrawn_line_ending_at_the_total() -> None:
    text = run(True, [(1.0, 10 * MIB), (2.0, 50 * MIB), (3.0, 100 * MIB), (4.0, 200 * MIB)], 200 * MIB)
    frames = text.split("\r")
    assert frames[0].startswith("\nflash b storage: disk.img [#######")
    assert "25% 50 MiB of 200 MiB, 25.0 MiB/s" in frames[0]
    assert frames[-1].startswith("flash b storage: disk.img [" + "#" * 30 + "] 100% 200 MiB of 200 MiB")
    assert frames[-1].endswith("\x1b[K\n") and text.count("\n") == 2


def test_a_plain_terminal_gets_a_line_every_few_seconds() -> None:
    steps = [(float(second), second * 10 * MIB) for second in range(1, 13)]
    lines = run(False, steps, 0).strip("\n").split("\n")
    assert lines == [
        "flash b storage: disk.img 20 MiB, 10.0 MiB/s",
        "flash b storage: disk.img 70 MiB, 10.0 MiB/s",
        "flash b storage: disk.img 120 MiB, 10.0 MiB/s",
        "flash b storage: disk.img [" + "#" * 30 + "] 100% 120 MiB of 120 MiB, 10.0 MiB/s",
    ]
    assert "\r" not in "".join(lines)


def test_a_compressed_image_shows_the_share_read_and_what_is_left() -> None:
    out: list[str] = []
    clock = Clock()
    task = Progress(out.append, live=True, delay=2.0, clock=clock).task("flash b storage: disk.img.xz")
    for at, done, share in [(2.0, 40 * MIB, 0.2), (4.0, 80 * MIB, 0.4), (4.05, 81 * MIB, 0.41)]:
        clock.now = 100.0 + at
        task.update(done, 0, share)
    frames = "".join(out).split("\r")
    assert len(frames) == 2  # redraws are throttled: the third came 50 ms after the second
    assert "]  40% 80 MiB written, 20.0 MiB/s, 6 s left" in frames[-1]
