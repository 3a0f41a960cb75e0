"""The shell on the simulated board: login, markers, exit codes, hostile output, timeouts, recovery."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_hil.board import Board
from pytest_hil.console.log import BoardLogs
from pytest_hil.console.shell import ConsoleShell, clean_output, console_shell
from pytest_hil.errors import BootFailed, CommandFailed, CommandTimeout, LoginRefused, ShellLoggedOut, ShellUnreachable
from pytest_hil.lab import load_lab

LAB = """
version: 1
boards:
  sim-s:
    resources:
      power: {driver: sim-power, password: s3cret, boot_time: 0.2, kernel_messages: KMSG}
      console: {driver: sim-console, timeout: 5}
    shell: {username: root, password: PASSWORD, prompt: 'root@sim-s:\\S*# ', boot_timeout: 3, command_timeout: 10}
"""

MakeShell = Callable[..., tuple[Board, ConsoleShell]]


@pytest.fixture
def make_shell(write_lab: Callable[..., Path], tmp_path: Path) -> Iterator[MakeShell]:
    boards: list[Board] = []

    def make(password: str = "s3cret", kernel_messages: float = 0.0, **replace: str) -> tuple[Board, ConsoleShell]:
        text = LAB.replace("PASSWORD", password).replace("KMSG", str(kernel_messages))
        for old, new in replace.items():
            text = text.replace(old, new)
        lab = load_lab(write_lab(text))
        board = Board(lab.boards["sim-s"], lab.path.parent, BoardLogs("sim-s", tmp_path / "logs", lab.secrets))
        boards.append(board)
        return board, console_shell(board)

    yield make
    for board in boards:
        board.close()


@pytest.fixture
def shell(make_shell: MakeShell) -> ConsoleShell:
    _, shell = make_shell()
    shell.connect()
    return shell


def test_connect_powers_on_and_logs_in(make_shell: MakeShell) -> None:
    board, shell = make_shell()
    shell.connect()
    assert board.power.state() is True  # type: ignore[attr-defined]
    assert shell.run("id -un").stdout == "root\n"


def test_connect_reuses_a_prompt_that_is_there(shell: ConsoleShell) -> None:
    started = time.monotonic()
    shell.connect()
    assert time.monotonic() - started < 2.0
    assert "login:" not in shell.console.before


def test_output_has_no_echo_no_prompt_and_unix_line_ends(shell: ConsoleShell) -> None:
    result = shell.run("echo hello; echo world")
    assert result.stdout == "hello\nworld\n"
    assert result.exit_code == 0
    assert result.command == "echo hello; echo world"
    assert 0 < result.duration < 5


@pytest.mark.parametrize(
    ("command", "code"),
    [("true", 0), ("false", 1), ("no-such-command-here", 127), ("exit_with() { return 42; }; exit_with", 42)],
)
def test_exit_codes_are_the_commands(shell: ConsoleShell, command: str, code: int) -> None:
    assert shell.run(command).exit_code == code


def test_state_persists_between_runs(shell: ConsoleShell) -> None:
    shell.run_check("mkdir -p deep/er && cd deep/er && export COLOUR=teal")
    assert shell.run('basename "$PWD"; echo "$COLOUR"').stdout == "er\nteal\n"


def test_prompt_like_output_and_partial_lines_parse(shell: ConsoleShell) -> None:
    assert shell.run("echo 'root@sim-s:~# '; printf 'no newline'").stdout == "root@sim-s:~# \nno newline"
    assert shell.run("printf 'HILdeadbeefE 3\\n'").stdout == "HILdeadbeefE 3\n"


def test_escape_sequences_are_removed(shell: ConsoleShell) -> None:
    result = shell.run(r"printf '\033[1;31mred\033[0m \033[?2004hpaste\033[?2004l \033]0;title\007done\n'")
    assert result.stdout == "red paste done\n"


def test_quotes_comments_and_background_jobs_survive(shell: ConsoleShell) -> None:
    assert shell.run("echo \"it's\" 'quoted' # and a comment").stdout == "it's quoted\n"
    assert shell.run("sleep 0.1 &").exit_code == 0
    assert shell.run("printf 'a\\nb\\n' |\nwc -l").stdout.strip() == "2"


def test_binary_junk_parses_and_the_next_command_works(shell: ConsoleShell) -> None:
    result = shell.run("head -c 4096 /dev/urandom; echo")
    assert result.exit_code == 0
    assert shell.run("echo after").stdout == "after\n"


def test_a_megabyte_of_output(shell: ConsoleShell) -> None:
    result = shell.run("seq 1 170000", timeout=60)
    lines = result.stdout.splitlines()
    assert len(result.stdout) > 1_000_000
    assert lines[0] == "1" and lines[-1] == "170000" and len(lines) == 170000


def test_kernel_messages_do_not_corrupt_exit_codes(make_shell: MakeShell) -> None:
    board, shell = make_shell(
        kernel_messages=0.003, **{"command_timeout: 10": "command_timeout: 10, quiet_kernel: false"}
    )
    shell.connect()
    for code in range(40):
        result = shell.run(f"echo line-{code}; (exit {code})")
        assert result.exit_code == code
        assert f"line-{code}" in result.stdout
    assert "heartbeat" in board.logs.logs["console"].session.path.read_text()  # type: ignore[union-attr]


def test_a_command_that_outlives_its_timeout_is_interrupted(shell: ConsoleShell) -> None:
    started = time.monotonic()
    with pytest.raises(
        CommandTimeout,
        match=r"'echo begun; sleep 30' did not finish within 1 s and was interrupted; output so far:\nbegun",
    ):
        shell.run("echo begun; sleep 30", timeout=1)
    assert time.monotonic() - started < 5
    assert shell.run("echo next").stdout == "next\n"


def test_run_check_raises_with_command_status_and_output(shell: ConsoleShell) -> None:
    with pytest.raises(CommandFailed) as failed:
        shell.run_check("echo oops; exit_2() { return 2; }; exit_2")
    assert failed.value.exit_code == 2
    assert failed.value.stdout == "oops\n"
    assert failed.value.command == "echo oops; exit_2() { return 2; }; exit_2"
    assert "exited with 2; output:\noops" in str(failed.value)


def test_a_wrong_password_is_refused_at_once(make_shell: MakeShell) -> None:
    _, shell = make_shell(password="wrong", **{"boot_timeout: 3": "boot_timeout: 30"})
    started = time.monotonic()
    with pytest.raises(LoginRefused, match=r"board sim-s, resource console \(shell\): login as root refused"):
        shell.connect()
    assert time.monotonic() - started < 5  # not the 30 s boot timeout


def test_no_prompt_power_cycles_once_then_gives_up_with_the_console_lines(make_shell: MakeShell) -> None:
    _, shell = make_shell(**{"boot_time: 0.2": "boot_time: 60", "boot_timeout: 3": "boot_timeout: 1"})
    started = time.monotonic()
    with pytest.raises(ShellUnreachable) as unreachable:
        shell.connect()
    assert time.monotonic() - started < 5
    message = str(unreachable.value)
    assert "no login or shell prompt within 1 s (also after a power cycle)" in message
    assert "[hil] no shell within 1 s: power cycle" in message
    assert message.endswith("[hil] power on (sim-power sim-s)")  # the last console lines: silence, no blank lines


def test_a_prompt_that_never_matches_says_so(make_shell: MakeShell) -> None:
    _, shell = make_shell(**{"prompt: 'root@sim-s:\\S*# '": "prompt: 'never-shown> '"})
    with pytest.raises(
        ShellUnreachable,
        match=r"logged in as root, but no shell prompt matching shell.prompt 'never-shown> ' came within",
    ):
        shell.connect()


def test_the_password_is_masked_in_logs(make_shell: MakeShell, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_PW", "tr0ub4dor")
    board, shell = make_shell(password='"${SIM_PW}"', **{"password: s3cret,": 'password: "${SIM_PW}",'})
    shell.connect()
    assert shell.run("echo my password is tr0ub4dor").stdout == "my password is tr0ub4dor\n"
    board.close()
    log = (board.logs.log_dir / "session" / "sim-s.console.log").read_text()  # type: ignore[operator]
    assert "tr0ub4dor" not in log
    assert "my password is ***" in log


def test_clean_output_normalises_line_ends() -> None:
    assert clean_output("a\r\nb\r\r\nc\n") == "a\nb\nc\n"


LONG = "printf '%s' '" + "x" * 5000 + "' | wc -c; printf '%s\\n' \"it's\" 'a \"quoted\"\nline'"


def test_a_command_longer_than_a_terminal_line_runs(shell: ConsoleShell) -> None:
    result = shell.run("\n".join([LONG] * 3))
    assert result.exit_code == 0
    assert result.stdout.split("\n")[:4] == ["5000", "it's", 'a "quoted"', "line"]
    assert result.stdout.count("5000") == 3
    assert shell.run("echo next").stdout == "next\n"


def test_control_characters_in_a_command_reach_the_shell(shell: ConsoleShell) -> None:
    result = shell.run("printf '%s' 'a\x03b\x04c\x15d\x7fe\x1af' | od -An -tx1")
    assert result.stdout.split() == ["61", "03", "62", "04", "63", "15", "64", "7f", "65", "1a", "66"]


def test_a_command_that_ends_the_shell_logs_in_again_at_once(shell: ConsoleShell) -> None:
    started = time.monotonic()
    with pytest.raises(ShellLoggedOut, match=r"'exit' ended the login shell \(a login prompt came\); logged in again"):
        shell.run("exit")
    assert time.monotonic() - started < 5
    assert shell.run("echo back; id -un").stdout == "back\nroot\n"


def test_a_shell_has_a_repr(shell: ConsoleShell) -> None:
    assert repr(shell) == "<ConsoleShell 'console-shell' board sim-s, resource console (shell)>"


def test_output_that_looks_like_a_login_prompt_is_output(shell: ConsoleShell) -> None:
    result = shell.run("echo 'sim-s login: '; sleep 0.5; echo after")
    assert result.stdout == "sim-s login: \nafter\n" and result.exit_code == 0


def test_a_power_cycle_inside_a_test_is_followed_by_a_new_login(make_shell: MakeShell) -> None:
    board, shell = make_shell()
    shell.connect()
    assert shell.run("echo before").stdout == "before\n"
    board.power.cycle(off_time=0.1)  # type: ignore[attr-defined]
    started = time.monotonic()
    assert shell.run("echo after; id -un").stdout == "after\nroot\n"
    assert time.monotonic() - started < 5
    assert "Login incorrect" not in board.logs.logs["console"].recent_lines(200)


def test_a_board_that_cannot_boot_fails_at_once_with_the_line_that_says_so(
    make_shell: MakeShell, write_lab: Callable[..., Path], tmp_path: Path
) -> None:
    board, shell = make_shell(**{"      console:": "      storage: {driver: sim-storage}\n      console:"})
    board.storage  # noqa: B018 - an empty card goes in: the board has nothing to boot
    started = time.monotonic()
    with pytest.raises(BootFailed) as failed:
        shell.connect()
    assert time.monotonic() - started < 3
    assert str(failed.value).startswith(
        "board sim-s, resource console (shell): the board cannot boot: 'MMC: no bootable image on SD card'"
    )
    assert "\n\n\n" not in str(failed.value)


def test_the_console_log_level_is_quieted_after_login(make_shell: MakeShell) -> None:
    board, shell = make_shell(kernel_messages=0.005)
    shell.connect()
    outputs = [shell.run(f"echo line-{n}").stdout for n in range(150)]
    assert outputs == [f"line-{n}\n" for n in range(150)]  # not one kernel line among them
    log = board.logs.logs["console"].recent_lines(400)
    assert "heartbeat" not in log.split("Last login")[-1].split("line-0")[-1]


def test_quiet_kernel_false_keeps_kernel_messages_on_the_console(make_shell: MakeShell) -> None:
    board, shell = make_shell(
        kernel_messages=0.005, **{"command_timeout: 10": "command_timeout: 10, quiet_kernel: false"}
    )
    shell.connect()
    shell.run("sleep 0.3")
    assert "heartbeat" in board.logs.logs["console"].recent_lines(50)


def _echo_flags(console: object) -> str:
    """What `stty -a` says of echo on the board's terminal: "echo" (on) or "-echo" (off)."""
    import re

    console.sendline("stty -a; echo HIL-FLAGS-DONE")  # type: ignore[attr-defined]
    console.expect(r"\nHIL-FLAGS-DONE", timeout=5)  # type: ignore[attr-defined]
    found = re.search(r"(?:^|\s)(-?echo)(?:\s|$)", console.before)  # type: ignore[attr-defined]
    assert found is not None
    return found.group(1)


def test_closing_the_shell_leaves_the_terminal_as_it_found_it(make_shell: MakeShell) -> None:
    board, shell = make_shell()
    shell.connect()
    assert _echo_flags(shell.console) == "echo"  # as the board's login left it
    shell.run("true")
    assert _echo_flags(shell.console) == "-echo"  # the shell's own setting while it works
    shell.close()
    shell.close()  # once is enough
    assert _echo_flags(shell.console) == "echo"  # a person at `hil console` sees what they type
    assert shell.run("echo again").stdout == "again\n"  # the shell still works, echo off again
    logged = "".join(path.read_text() for path in board.logs.log_dir.rglob("*.log"))  # type: ignore[union-attr]
    assert "[hil] shell done: the terminal's echo, console log level and prompt restored" in logged


def test_a_session_closes_its_shells_before_it_releases_the_boards(pytester: pytest.Pytester, tmp_path: Path) -> None:
    from tests.conftest import SIM_LAB

    pytester.path.joinpath("lab.yaml").write_text(
        SIM_LAB + "    shell: {username: root, prompt: 'root@sim-b:\\S*# '}\n"
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.hil(board="sim-b")
        def test_x(shell):
            assert shell.run("echo hi").stdout == "hi\\n"
        """
    )
    logs = tmp_path / "logs"
    pytester.runpytest("--hil-lab=lab.yaml", f"--hil-log-dir={logs}").assert_outcomes(passed=1)
    session_logs = "".join(path.read_text() for path in (logs / "session").glob("*.log"))
    assert "[hil] shell done: the terminal's echo, console log level and prompt restored" in session_logs


def test_a_shell_whose_prompt_does_not_expand_falls_back_to_printf_markers(
    make_shell: MakeShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a shell that prints `$?` in its prompt literally: commands go between printf markers."""
    import pytest_hil.console.shell as shell_module

    literal = "PS1=\"$(printf '\\001')\"'\\$_h:\\$?'\"$(printf '\\001')\" PS2="
    monkeypatch.setattr(shell_module, "FRAMING_PS1", literal)
    _, shell = make_shell()
    shell.connect()
    assert shell.run("echo $((6 * 7))").stdout == "42\n"
    assert shell.framing == "markers"
    assert shell.run("false").exit_code == 1
    assert shell.run("printf '%s' '" + "x" * 3000 + "' | wc -c").stdout.strip() == "3000"
    with pytest.raises(CommandTimeout):
        shell.run("sleep 5", timeout=0.3)
    assert shell.run("echo still here").stdout == "still here\n"


def test_a_second_shell_on_the_same_login_frames_by_prompt_and_restores_the_boards(make_shell: MakeShell) -> None:
    """As after a run that ended without closing its shell: the next one takes over, and puts back
    what the board had before the first (not the first one's settings)."""
    board, first = make_shell()
    first.connect()
    first.run("true")  # set up, numbered commands run, never closed
    second = console_shell(board)
    second.connect()
    assert second.run("echo again").stdout == "again\n"
    assert second.framing == "prompt"
    second.close()
    second.console.sendline("")
    second.console.expect(second.spec.prompt, timeout=5)  # the board's own prompt is back
    assert _echo_flags(second.console) == "echo"
