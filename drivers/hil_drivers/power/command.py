"""`command-power`: shell commands on the host switch the board (a vendor CLI, a script, `uhubctl`...)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field

from hil_drivers.power.switch import Switch
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import DriverContext
from pytest_hil.secrets import mask

ON_WORDS = frozenset({"on", "1", "true", "yes"})
OFF_WORDS = frozenset({"off", "0", "false", "no"})


@dataclass(frozen=True)
class CommandPowerOptions:
    on: str = field(metadata={"help": "command that switches on (run by /bin/sh)", "shell": True})
    off: str = field(metadata={"help": "command that switches off", "shell": True})
    state: str | None = field(
        default=None, metadata={"help": "command printing on/off (or 1/0, true/false)", "shell": True}
    )
    timeout: float = field(default=10.0, metadata={"help": "seconds a command may take", "above": 0, "max": 3600})


class CommandPower(Switch[CommandPowerOptions]):
    """Runs the lab file's commands in the lab file's folder; `/bin/sh` expands their `${VAR}` references
    from the environment, so a variable's value is data, never code."""

    kind = "command-power"
    Options = CommandPowerOptions

    def __init__(self, options: CommandPowerOptions, context: DriverContext) -> None:
        super().__init__(options, context)

    def describe(self) -> str:
        return self.kind

    def _run(self, setting: str, command: str) -> str:
        try:
            result = subprocess.run(
                command,
                shell=True,
                cwd=self.context.lab_dir,
                capture_output=True,
                text=True,
                timeout=self.options.timeout,
            )
        except subprocess.TimeoutExpired:
            raise DriverError(
                f"{self.context}: {setting} command {command!r} did not finish within {self.options.timeout:g} s"
            ) from None
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip()[-500:]
            raise DriverError(
                f"{self.context}: {setting} command {command!r} exited with {result.returncode}: {mask(output)}"
            )
        return result.stdout

    def _switch(self, on: bool) -> bool | None:
        self._run("on" if on else "off", self.options.on if on else self.options.off)
        return None

    def _read(self) -> bool | None:
        if self.options.state is None:
            return None
        answer = self._run("state", self.options.state).strip().lower()
        if answer in ON_WORDS:
            return True
        if answer in OFF_WORDS:
            return False
        raise DriverError(f"{self.context}: state command printed {answer[:100]!r}, not on or off")
