"""A logged-in shell on a board's console: login, then commands delimited by unique markers.

Each command goes out as one line: print a start marker, `eval` the command, print an end marker with
`$?`. The markers are printed as two halves joined by printf, so the echo of the line never matches
them; the whole line is read before anything runs, so echo, prompts and line editing all land before
the start marker; the exit status is read after the end marker. Output between the markers may hold
anything: prompt-like text, partial lines, binary junk, megabytes.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import time
from typing import TYPE_CHECKING

from pytest_hil.console.framing import PROMPTS
from pytest_hil.console.stream_console import StreamConsole
from pytest_hil.errors import (
    BootFailed,
    CommandFailed,
    CommandTimeout,
    ConsoleClosed,
    ConsoleTimeout,
    HilError,
    LoginRefused,
    ShellLoggedOut,
    ShellUnreachable,
)
from pytest_hil.interfaces import CommandResult, DriverContext, Pattern, Power, Shell
from pytest_hil.lab.model import ResourceSpec, ShellSpec

if TYPE_CHECKING:
    from pytest_hil.board import Board

#: Seconds between nudges (an empty line) while waiting for a login or shell prompt.
POKE_INTERVAL = 3.0
#: What `close` types: the terminal settings, console log level and prompt saved by the setup line.
RESTORE_LINE = (
    'stty "$_hs" 2>/dev/null||stty echo;[ "$_hl" ]&&dmesg -n "$_hl";'
    '[ "${_hp+x}" ]&&PS1=$_hp PS2=$_hq;unset _hs _hl _hp _hq _h'
)
#: The setup's first line, short since it is echoed: save the terminal's settings (unless an earlier
#: shell on this login did), then echo off, so that the second line is (mostly) not echoed back.
ECHO_OFF_LINE = '[ "$_hs" ]||_hs=$(stty -g);stty -echo'
#: The prompt the shell sets after logging in: the number of the command that just ran (`_h`, set on
#: its line) and its exit status, between SOH characters (\x01, which nothing on a terminal or in a
#: line splitter acts on; made by printf, since line editors take a typed Ctrl-A as "go home"), then
#: a newline, so that console logs show each command's output from the start of a line. It ends every
#: command's output: a command costs `_h=N;` out and `\x01N:S\x01` and a newline back instead of the
#: board's own prompt. PS2 is emptied: a multi-line command prints no continuation prompts.
FRAMING_PS1 = "PS1=$(printf '\\001%s\\001\\n_' '$_h:$?');PS1=${PS1%_} PS2="
#: Commands made of these characters only mean the same typed as they are and run through `eval`.
_PLAIN = re.compile(r"[A-Za-z0-9 _./=:,+%@-]*")
#: Escape sequences terminals and shells emit: CSI (colours, cursor, bracketed paste), OSC, others.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI ... final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC ... BEL or ST
    r"|\x1b[PX^_][^\x1b]*\x1b\\"  # DCS, SOS, PM, APC ... ST
    r"|\x1b[()*+][0-9A-Za-z]"  # character set selection
    r"|\x1b[@-Z\\-_=>78]"  # two-byte sequences
)


def clean_output(text: str) -> str:
    """Command output as a test wants it: no escape sequences, `\\n` line ends."""
    if "\x1b" in text:
        text = _ESCAPES.sub("", text)
    while "\r\n" in text:  # also \r\r\n, which a tty makes of a program's \r\n
        text = text.replace("\r\n", "\n")
    return text


def quote(text: str) -> str:
    """`text` as one single-quoted shell word."""
    return "'" + text.replace("'", "'\\''") + "'"


#: Characters a terminal's line discipline acts on (Ctrl-C, Ctrl-D, erase, ...): sent as printf escapes.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]+")
#: Longest piece of a command sent on one line (a tty's line buffer holds 4095 bytes).
PIECE = 512


def shell_word(text: str) -> str:
    """`text` as one shell word that survives a terminal: quoted, control characters made by printf."""
    if "\x00" in text:
        raise ValueError("a shell command cannot contain a NUL character")
    parts = []
    position = 0
    for match in _CONTROL.finditer(text):
        if match.start() > position:
            parts.append(quote(text[position : match.start()]))
        escapes = "".join(f"\\{ord(char):03o}" for char in match[0])
        parts.append(f"\"$(printf '{escapes}')\"")
        position = match.end()
    if position < len(text) or not parts:
        parts.append(quote(text[position:]))
    return "".join(parts)


def command_lines(cmd: str, variable: str) -> tuple[list[str], str]:
    """Lines that put a long command into a shell variable piece by piece, and the word that runs it:
    no line comes near a terminal's line limit, whatever the command's length."""
    word = shell_word(cmd)
    if len(word) <= PIECE * 2 and "\n" not in word:
        return [], word
    pieces = [cmd[start : start + PIECE] for start in range(0, len(cmd), PIECE)]
    lines = [f"{variable}={shell_word(pieces[0])}"]
    lines += [f'{variable}="${variable}"{shell_word(piece)}' for piece in pieces[1:]]
    return lines, f'"${variable}"'


class ConsoleShell(Shell):
    """The shell interface over a console, logging in as the lab file's `shell:` settings say."""

    kind = "console-shell"

    def __init__(self, console: StreamConsole, spec: ShellSpec, power: Power | None, context: DriverContext) -> None:
        super().__init__(spec, context)
        self.console = console
        self.spec = spec
        self.power = power
        #: How commands are framed since the last login: None (not set up yet), "prompt" (the shell's
        #: prompt carries the command's number and status) or "markers" (printf lines around it, for
        #: shells whose prompt does not expand $?).
        self.framing: str | None = None
        self.count = secrets.randbelow(900) + 100  # numbers differ between shells on one board
        self.prompt = re.compile(spec.prompt)
        self.login_prompt = re.compile(spec.login_prompt)
        self.password_prompt = re.compile(spec.password_prompt)
        self.boot_failure = re.compile("|".join(f"(?:{pattern})" for pattern in spec.boot_failures) or "(?!)")
        #: The board's power events when the shell last reached its prompt: another since means a reboot.
        self.generation = -1

    # reaching a prompt

    def connect(self) -> None:
        """Bring the console to a logged-in prompt: reuse one, log in, or power-cycle once and retry.
        `run` calls it by itself when the board was switched or reset since the last command; a board
        whose console says it cannot boot (`shell.boot_failures`) fails at once with that line."""
        if self.power is not None and self.power.state() is False:
            self.power.on()
        if self._reach(self.spec.boot_timeout):
            return
        if self.power is not None:
            self.context.logs.note(f"[hil] no shell within {self.spec.boot_timeout:g} s: power cycle")
            self.power.cycle()
            if self._reach(self.spec.boot_timeout):
                return
        cycled = " (also after a power cycle)" if self.power is not None else ""
        raise ShellUnreachable(
            f"{self.context}: no login or shell prompt within {self.spec.boot_timeout:g} s{cycled} "
            f"(shell.prompt {self.spec.prompt!r}, shell.login_prompt {self.spec.login_prompt!r}); "
            f"last console lines:\n{self.console.last_lines()}"
        )

    def _reach(self, within: float) -> bool:
        reached = self._reach_prompt(within)
        if reached:
            self.generation = self.context.logs.power_events
        return reached

    def _reach_prompt(self, within: float) -> bool:
        deadline = time.monotonic() + within
        stale = self._drain()[-4096:]
        self._check_boot(stale)
        prompts = list(self.login_prompt.finditer(stale))
        if prompts and not stale[prompts[-1].end() :].strip():
            self._log_in(deadline)  # sitting at a login prompt: answer it, no nudge needed
            self.framing = None
            return True
        self.console.sendline("")
        poked = True
        patterns: list[Pattern] = [
            self.prompt, self.login_prompt, self.password_prompt, "Login incorrect", self.boot_failure, PROMPTS
        ]  # fmt: skip
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                found = self.console.expect(patterns, timeout=min(remaining, POKE_INTERVAL))
            except ConsoleTimeout:
                self.console.sendline("")
                poked = True
                continue
            if found == 4:
                self._check_boot(self.console.after)
            if found in (0, 5):  # the board's prompt, or the one this shell set up
                return True
            if found == 1:
                while poked and self._prompted_again():
                    pass  # a nudge was taken for an empty name: answer the newest prompt
                self._log_in(deadline)
                self.framing = None
                return True
            if found == 2:  # someone else's half-finished login: finish it with nothing
                self.console.sendline("")
            poked = False
        return False

    def _check_boot(self, text: str) -> None:
        failed = self.boot_failure.search(text)
        if failed:
            raise BootFailed(
                f"{self.context}: the board cannot boot: {failed[0].strip()!r} (shell.boot_failures); last "
                f"console lines:\n{self.console.last_lines(20)}"
            )

    def _drain(self) -> str:
        """What the board printed that nobody read yet: stale for prompts, telling for a login prompt."""
        text = ""
        while chunk := self.console.read_nonblocking(65536, timeout=0):
            text += chunk
        return text

    def _prompted_again(self) -> bool:
        """After a nudge, did the login prompt come once more (the nudge read as an empty name)?"""
        try:
            self.console.expect(self.login_prompt, timeout=0.1)
            return True
        except ConsoleTimeout:
            return False

    def _log_in(self, deadline: float) -> None:
        username, password = self.spec.username, self.spec.password
        if username is None:
            raise LoginRefused(f"{self.context}: the board asks for a login but the lab file sets no shell.username")
        answers: list[Pattern] = [self.prompt, self.password_prompt, "Login incorrect"]
        timeout = max(deadline - time.monotonic(), 2.0)
        self.console.sendline(username)
        try:
            found = self.console.expect(answers, timeout=timeout)
            if found == 1:
                if password is None:
                    raise LoginRefused(
                        f"{self.context}: the board asks a password for {username} but the lab file sets no "
                        "shell.password"
                    )
                self.console.sendline(password)
                found = self.console.expect(answers, timeout=timeout)
        except ConsoleTimeout:
            raise ShellUnreachable(
                f"{self.context}: logged in as {username}, but no shell prompt matching shell.prompt "
                f"{self.spec.prompt!r} came within {timeout:g} s; last console lines:\n{self.console.last_lines(10)}"
            ) from None
        if found != 0:
            raise LoginRefused(
                f"{self.context}: login as {username} refused (wrong shell.password or shell.username?); "
                f"last console lines:\n{self.console.last_lines(5)}"
            )

    # commands

    def run(self, cmd: str, timeout: float | None = None) -> CommandResult:
        """Run `cmd` in the login shell; its output, exit status and duration. Commands of any length
        and with control characters work; one that ends the shell raises `ShellLoggedOut` once the
        shell has logged in again."""
        timeout = self.spec.command_timeout if timeout is None else timeout
        if self.generation != self.context.logs.power_events:  # switched or reset since: it rebooted
            self.context.logs.note("[hil] the board was switched or reset: reaching its shell again")
            self.framing = None
            self.connect()
        if self.framing is None:
            self._set_up()
        tag = f"HIL{secrets.token_hex(4)}"
        try:
            pieces, word = command_lines(cmd, f"{tag}c")
        except ValueError as error:
            raise HilError(f"{self.context}: {cmd[:60]!r}: {error}") from None
        started = time.monotonic()
        if self.framing == "prompt":
            self._send_pieces(pieces, timeout)
            self.count += 1
            plain = not pieces and _PLAIN.fullmatch(cmd) is not None
            lines = [f"_h={self.count};{cmd if plain else 'eval ' + word}"]
            end = re.compile(f"\x01{self.count}:(\\d+)\x01\r?\n")
        else:
            lines = [*pieces, f"printf '%s%s\\n' {tag} S; eval {word}; printf '%s%s %d\\n' {tag} E $?"]
            end = re.compile(f"{tag}E (\\d+)\r?\n")
        for line in lines:
            self.console.sendline(line)
        output = ""
        try:
            if self.framing == "markers":
                self.console.expect(f"{tag}S\r?\n", timeout=timeout)
            patterns: list[Pattern] = [end, self.login_prompt]
            while True:
                remaining = max(timeout - (time.monotonic() - started), 0.001)
                found = self.console.expect(patterns, timeout=remaining)
                if found == 0:
                    output += self.console.before
                    break
                output += self.console.before + self.console.after
                if found == 1:  # the shell is gone, unless more output follows at once
                    try:
                        self.console.expect(r"[\s\S]", timeout=0.3)
                    except ConsoleTimeout:
                        self._log_in_again(cmd)
                    output += self.console.before + self.console.after
        except ConsoleTimeout:
            partial = output + self.console.before
            self._interrupt()
            raise CommandTimeout(
                f"{self.context}: {cmd!r} did not finish within {timeout:g} s and was interrupted; "
                f"output so far:\n{_tail(clean_output(partial))}"
            ) from None
        except ConsoleClosed as closed:
            raise ShellUnreachable(f"{self.context}: the console closed while running {cmd!r}: {closed}") from None
        duration = time.monotonic() - started
        match = self.console.match
        assert match is not None
        return CommandResult(cmd, clean_output(output), int(match.group(1)), duration)

    def _send_pieces(self, pieces: list[str], timeout: float) -> None:
        """A long command's pieces, each waited for: the board's line buffer never overflows (its
        flow control characters never reach the output), and what they print stays before it."""
        for piece in pieces:
            self.count += 1
            self.console.sendline(f"_h={self.count};{piece}")
            try:
                self.console.expect(re.compile(f"\x01{self.count}:\\d+\x01\r?\n"), timeout=timeout)
            except ConsoleTimeout:
                self._interrupt()
                raise CommandTimeout(f"{self.context}: sending a long command's pieces timed out") from None

    def _set_up(self) -> None:
        """After a login, in one exchange: echo off (it spares every command its echo and line
        editing's redraws: 10x faster on a busybox shell under QEMU), the kernel's console messages
        down to emergencies (`quiet_kernel`), and the framing prompt, each setting saved first for
        `close`. A shell whose prompt does not expand `$?` gets its own prompt back and printf
        markers around each command instead."""
        # both lines at once: what an earlier shell on this login saved (a run that did not close it) is kept
        quiet = '[ "$_hl" ]||read _hl _ </proc/sys/kernel/printk;dmesg -n 1;' if self.spec.quiet_kernel else ""
        self.console.sendline(ECHO_OFF_LINE)
        self.console.sendline(f'{quiet}[ "${{_hp+x}}" ]||_hp=$PS1 _hq=$PS2;_h=;{FRAMING_PS1}')
        expanded, literal = re.compile("\x01:(\\d+)\x01\r?\n"), re.compile(re.escape("\x01$_h:$?\x01"))
        try:  # (the board's own prompt comes first, after the first line: it does not count)
            found = self.console.expect([expanded, literal], timeout=min(self.spec.command_timeout, 10.0))
        except ConsoleTimeout:
            found = 2
        if found == 0:
            self.framing = "prompt"
            return
        self.console.sendline("PS1=$_hp PS2=$_hq")
        self.framing = "markers"

    def close(self) -> None:
        """Leave the board's terminal as the shell found it (echo back on, the kernel's console log
        level and the prompt as they were), so that a person at `hil console` sees what they type.
        Nothing is sent when the board rebooted since (it starts afresh) or no command ran."""
        if self.framing is not None and self.generation == self.context.logs.power_events:
            self.console.sendline(RESTORE_LINE)
            self.context.logs.note("[hil] shell done: the terminal's echo, console log level and prompt restored")
        self.framing = None

    def _log_in_again(self, cmd: str) -> None:
        self.context.logs.note(f"[hil] the shell ended during {cmd!r}: logging in again")
        self._log_in(time.monotonic() + self.spec.boot_timeout)
        self.framing = None
        raise ShellLoggedOut(f"{self.context}: {cmd!r} ended the login shell (a login prompt came); logged in again")

    def run_check(self, cmd: str, timeout: float | None = None) -> CommandResult:
        """Like `run`, raising `CommandFailed` (command, status, output) on a non-zero exit status."""
        result = self.run(cmd, timeout)
        if result.exit_code != 0:
            raise CommandFailed(
                f"{self.context}: {cmd!r} exited with {result.exit_code}; output:\n{_tail(result.stdout)}", result
            )
        return result

    def _interrupt(self) -> None:
        """Ctrl-C, then wait for a fresh marker (a prompt with a new number, or a printf line) so the
        next command starts clean."""
        for _ in range(3):
            self.console.sendcontrol("c")
            if self.framing == "prompt":
                self.count += 1
                self.console.sendline(f"_h={self.count}")
                fresh = f"\x01{self.count}:\\d+\x01\r?\n"
            else:
                tag = f"HIL{secrets.token_hex(4)}"
                self.console.sendline(f"printf '%s%s\\n' {tag} R")
                fresh = f"{tag}R\r?\n"
            try:
                self.console.expect(fresh, timeout=5)
                return
            except ConsoleTimeout:
                continue
        raise ShellUnreachable(
            f"{self.context}: the shell does not answer after Ctrl-C; last console lines:\n{self.console.last_lines()}"
        )


def _tail(text: str, lines: int = 50) -> str:
    return "\n".join(text.split("\n")[-lines:])


def console_shell(board: Board) -> ConsoleShell:
    """A board's shell from its `shell:` settings: its console, and its power switch for recovery."""
    name = board.spec.shell_console()
    if name is None:
        raise HilError(f"board {board.name} has no console for a shell: set shell.console in the lab file")
    spec = board.shell_spec or ShellSpec(console=name)
    console = board.resource(name)
    if not isinstance(console, StreamConsole):
        raise HilError(f"board {board.name}: shell.console {name!r} is not a stream console")
    found = board.spec.resource_for("power")
    power = board.resource(found.name) if isinstance(found, ResourceSpec) else None
    context = dataclasses.replace(console.context, resource=f"{name} (shell)")
    return ConsoleShell(console, spec, power if isinstance(power, Power) else None, context)
