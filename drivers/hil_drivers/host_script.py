"""`host-script`: named scripts run on the machine the board hangs on (reset a USB hub, toggle a
relay with a vendor tool, read a sensor), each call logged in the board's console logs.

A script is the lab file's text, given to `shell` (default `sh -c`) as its own argument; the call's
arguments follow it as `$1..$n` and its keyword arguments become environment variables. Nothing a
test passes is ever pasted into the script's text, so no value can inject a command.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_hil import hookimpl
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import Driver, DriverContext, ScriptResult, Scripts
from pytest_hil.secrets import mask

#: Script names: what `scripts.<name>()` can be called as, and nothing a driver needs for itself.
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
RESERVED = frozenset({"call", "names", "close", "options", "context", "kind", "describe"})
#: Environment variable names a keyword argument may set.
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class HostScriptOptions:
    methods: dict[str, str] = field(
        metadata={
            "help": "name -> script (arguments arrive as $1..$n, keyword arguments as environment variables)",
            "shell": True,
        }
    )
    shell: list[str] = field(
        default_factory=lambda: ["sh", "-c"],
        metadata={"help": "the program (and its flags) each script is handed to as one argument"},
    )
    timeout: float = field(default=60.0, metadata={"help": "seconds a script may run", "above": 0, "max": 86400})
    cwd: Path | None = field(default=None, metadata={"help": "folder the scripts run in (default: the lab file's)"})

    def __post_init__(self) -> None:
        if not self.methods:
            raise ValueError("methods: name at least one script")
        for name in self.methods:
            if not NAME.fullmatch(name) or name in RESERVED:
                raise ValueError(
                    f"methods: {name!r} cannot be a script name (letters, digits and _, starting with a letter;"
                    f" not {', '.join(sorted(RESERVED))})"
                )
        if not self.shell:
            raise ValueError("shell: name the program, e.g. [sh, -c]")


class HostScript(Scripts[HostScriptOptions]):
    """Runs the lab file's scripts on this machine (the lab host, under `--hil-dist`)."""

    kind = "host-script"
    Options = HostScriptOptions

    def __init__(self, options: HostScriptOptions, context: DriverContext) -> None:
        super().__init__(options, context)

    def names(self) -> list[str]:
        return list(self.options.methods)

    def call(self, name: str, *args: object, **env: object) -> ScriptResult:
        """Run script `name` with `args` as $1..$n and `env` as environment variables; its exit status
        is in the result (a failing script is not an error: `result.exit_code` says)."""
        script = self.options.methods.get(name)
        if script is None:
            raise AttributeError(f"{self!r} has no script {name!r} (it has: {', '.join(self.names())})")
        bad = [key for key in env if not ENV_NAME.fullmatch(key)]
        if bad:
            raise ValueError(f"{self.context}: script {name}: {bad[0]!r} cannot be an environment variable name")
        arguments = [str(arg) for arg in args]
        shown = " ".join([name, *arguments])
        self.context.logs.note(f"[hil] script {mask(shown)}")
        started = time.monotonic()
        try:
            done = subprocess.run(
                [*self.options.shell, str(script), name, *arguments],
                cwd=self.options.cwd or self.context.lab_dir,
                env={**os.environ, **{key: str(value) for key, value in env.items()}},
                capture_output=True,
                text=True,
                errors="replace",
                timeout=self.options.timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            self.context.logs.note(f"[hil] script {name}: still running after {self.options.timeout:g} s: killed")
            raise DriverError(
                f"{self.context}: script {name} did not finish within {self.options.timeout:g} s (timeout:)"
            ) from None
        except OSError as error:
            raise DriverError(
                f"{self.context}: script {name}: cannot run {self.options.shell[0]!r}: {error.strerror or error}"
            ) from None
        result = ScriptResult(name, done.stdout, done.stderr, done.returncode, time.monotonic() - started)
        self.context.logs.note(f"[hil] script {name}: exit {result.exit_code} after {result.duration:.2f} s")
        return result


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    return [HostScript]
