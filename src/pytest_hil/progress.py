"""Progress of long board operations (flashing), shown on a terminal once they take a while.

Drivers get a `Progress` through their `DriverContext`: pytest's plugin gives one that writes with
the terminal reporter, the `hil` command one that draws a bar on stderr, library use a silent one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: Seconds an operation runs before its progress is shown: short ones stay quiet.
DELAY = 2.0
#: Seconds between two reports on a terminal that cannot redraw a line, and between two redraws.
LINE_INTERVAL = 5.0
REDRAW_INTERVAL = 0.1
BAR_WIDTH = 30


def _mib(count: int) -> str:
    return f"{count / 2**20:.0f} MiB"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(seconds + 0.5), 60)
    return f"{minutes}:{rest:02d}" if minutes else f"{rest} s"


class Task:
    """One operation: `update(done, total, share)` as it goes (total 0 when unknown; `share` of the
    work done when the byte count cannot tell, e.g. of a compressed image read), `finish()` at the end."""

    def __init__(self, progress: Progress, title: str) -> None:
        self.progress = progress
        self.title = title
        self.started = progress.clock()
        self.last_shown: float | None = None
        self.done = 0

    def update(self, done: int, total: int, share: float | None = None) -> None:
        self.done = done
        now = self.progress.clock()
        if now - self.started < self.progress.delay:
            return
        interval = REDRAW_INTERVAL if self.progress.live else LINE_INTERVAL
        if self.last_shown is not None and now - self.last_shown < interval:
            return
        self.progress.show(self.render(done, total, now, share), first=self.last_shown is None, final=False)
        self.last_shown = now

    def finish(self) -> None:
        """End the task; its last figures stay on screen if any were shown."""
        if self.last_shown is not None:
            self.progress.show(self.render(self.done, self.done, self.progress.clock()), first=False, final=True)

    def abandon(self) -> None:
        """End a task that failed: its line, if shown, ends as it stands (the error follows on its own)."""
        if self.last_shown is not None and self.progress.write is not None:
            self.progress.write("\n")

    def render(self, done: int, total: int, now: float, share: float | None = None) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = f"{done / elapsed / 2**20:.1f} MiB/s"
        if total > 0:
            share = min(done / total, 1.0)
            amount = f"{_mib(done)} of {_mib(total)}"
        elif share is not None:
            share = min(max(share, 0.0), 1.0)
            amount = f"{_mib(done)} written"
        else:
            return f"{self.title} {_mib(done)}, {rate}"
        filled = int(share * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        eta = f", {_duration(elapsed * (1 - share) / share)} left" if 0 < share < 1 else ""
        return f"{self.title} [{bar}] {share:4.0%} {amount}, {rate}{eta}"


class Progress:
    """Where progress goes: `write(text)` to a terminal; `live` ones redraw one line with `\\r`
    (`live` may be a function, asked when the first report is shown)."""

    def __init__(
        self,
        write: Callable[[str], None] | None = None,
        *,
        live: bool | Callable[[], bool] = False,
        delay: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.write = write
        self._live = live
        self.delay = DELAY if delay is None else delay
        self.clock = clock

    @property
    def live(self) -> bool:
        return self._live if isinstance(self._live, bool) else self._live()

    def task(self, title: str) -> Task:
        """Start reporting an operation called `title` (e.g. `flash sim-a storage: disk.img.xz`)."""
        return Task(self, title)

    def show(self, text: str, *, first: bool, final: bool) -> None:
        """Write one report; the first starts on a fresh line (the terminal may be mid-line), the
        final one ends its line."""
        if self.write is None:
            return
        live = self.live
        start = "\n" if first or not live else "\r"
        self.write(start + text + ("\x1b[K" if live else "") + ("\n" if final else ""))


#: Progress that shows nothing (library use, tests of drivers).
SILENT = Progress()
