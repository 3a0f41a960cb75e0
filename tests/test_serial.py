"""The serial driver on real pseudo-terminals and on a TCP socket (pyserial's socket://)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import termios
import threading
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_hil.board import Board
from pytest_hil.console import StreamConsole
from pytest_hil.console.log import BoardLogs
from pytest_hil.errors import ConsoleClosed, ConsoleTimeout, DriverError, LabError
from pytest_hil.lab import load_lab


class FakeAdapter:
    """A USB serial adapter: a pty whose slave is reached through a by-id style symlink."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master = -1
        self.slave = -1
        self.plug()

    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        self.link.unlink(missing_ok=True)
        self.link.symlink_to(os.ttyname(self.slave))

    def unplug(self) -> None:
        self.link.unlink()
        os.close(self.slave)
        os.close(self.master)

    def board_prints(self, text: str) -> None:
        os.write(self.master, text.encode())

    def board_reads(self, size: int = 1024, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        data = b""
        while time.monotonic() < deadline and b"\n" not in data:
            try:
                data += os.read(self.master, size)
            except BlockingIOError:
                time.sleep(0.01)
        return data


@pytest.fixture
def adapter(tmp_path: Path) -> Iterator[FakeAdapter]:
    adapter = FakeAdapter(tmp_path / "usb-FTDI_FT232R-if00-port0")
    os.set_blocking(adapter.master, False)
    yield adapter
    for fd in (adapter.master, adapter.slave):
        with contextlib.suppress(OSError):
            os.close(fd)


MakeBoard = Callable[..., Board]


@pytest.fixture
def make_board(tmp_path: Path) -> Iterator[MakeBoard]:
    boards: list[Board] = []

    def make(options: str, name: str = "dut") -> Board:
        lab_file = tmp_path / f"{name}.yaml"
        lab_file.write_text(
            f"version: 1\nboards:\n  {name}:\n    resources:\n      console: {{driver: serial, {options}}}\n"
        )
        lab = load_lab(lab_file)
        board = Board(lab.boards[name], tmp_path, BoardLogs(name, tmp_path / "logs"))
        boards.append(board)
        return board

    yield make
    for board in boards:
        board.close()


def console_of(board: Board) -> StreamConsole:
    console = board.console
    assert isinstance(console, StreamConsole)
    return console


def test_reads_and_writes_a_pty(make_board: MakeBoard, adapter: FakeAdapter) -> None:
    console = console_of(make_board(f"port: {adapter.link}"))
    adapter.board_prints("U-Boot 2024.01\r\nlogin: ")
    console.expect("login: ")
    assert "U-Boot" in console.before
    console.sendline("root")
    assert adapter.board_reads() == b"root\n"


def test_port_settings_reach_the_tty(make_board: MakeBoard, adapter: FakeAdapter) -> None:
    board = make_board(f"port: {adapter.link}, baudrate: 57600, parity: even, stopbits: 2, bytesize: 7, flow: rtscts")
    console = console_of(board)
    attributes = termios.tcgetattr(adapter.slave)
    cflag = attributes[2]
    assert attributes[4] == termios.B57600
    assert cflag & termios.CSTOPB
    assert cflag & termios.CRTSCTS
    # Linux ptys force 8 data bits and no parity, so those two are read back from the open port
    port = console._current.port  # type: ignore[union-attr]
    assert (port.parity, port.bytesize) == ("E", 7)


def test_a_vanished_adapter_is_reopened(make_board: MakeBoard, adapter: FakeAdapter) -> None:
    board = make_board(f"port: {adapter.link}, reconnect_timeout: 5")
    console = console_of(board)
    adapter.board_prints("before power cycle\r\n")
    console.expect("before power cycle")
    adapter.unplug()
    time.sleep(0.5)
    adapter.plug()
    os.set_blocking(adapter.master, False)
    deadline = time.monotonic() + 5
    while "reopened" not in console.log.recent_lines() and time.monotonic() < deadline:
        time.sleep(0.05)
    adapter.board_prints("after power cycle\r\n")
    console.expect("after power cycle")
    lines = console.log.recent_lines()
    assert f"[hil] serial port {adapter.link} lost" in lines
    assert f"[hil] serial port {adapter.link} reopened" in lines


def test_an_adapter_gone_for_good_ends_the_console_naming_the_port(make_board: MakeBoard, adapter: FakeAdapter) -> None:
    console = console_of(make_board(f"port: {adapter.link}, reconnect_timeout: 0.5"))
    adapter.unplug()
    with pytest.raises(
        ConsoleClosed,
        match=rf"board dut, resource console: the console closed \(board dut, resource console: port {adapter.link} vanished and did not come back within 0.5 s",
    ):
        console.expect("never", timeout=5)


def test_a_missing_port_names_board_resource_and_port(make_board: MakeBoard, tmp_path: Path) -> None:
    board = make_board(f"port: {tmp_path}/ttyUSB9")
    with pytest.raises(
        DriverError,
        match=rf"board dut, resource console: cannot open port {tmp_path}/ttyUSB9: .*No such file or directory",
    ):
        board.resource("console")


def test_a_busy_port_says_another_process_holds_it(make_board: MakeBoard, adapter: FakeAdapter) -> None:
    console_of(make_board(f"port: {adapter.link}", name="first"))
    second = make_board(f"port: {adapter.link}", name="second")
    with pytest.raises(
        DriverError,
        match=r"board second, resource console: cannot open port .*: the port is busy \(another process holds it\)",
    ):
        second.resource("console")


def test_a_baudrate_the_driver_rejects_is_a_lab_error(tmp_path: Path) -> None:
    (tmp_path / "lab.yaml").write_text(
        "version: 1\nboards:\n  b:\n    resources:\n      console: {driver: serial, port: /dev/ttyUSB0, baudrate: -9600}\n"
    )
    with pytest.raises(LabError) as raised:
        load_lab(tmp_path / "lab.yaml")
    assert (
        str(raised.value)
        == f"{tmp_path}/lab.yaml:5: boards.b.resources.console.baudrate: -9600 is not a positive number of bits per second"
    )


def test_socket_url_talks_to_a_tcp_server(make_board: MakeBoard) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            received.append(connection.recv(100))
            connection.sendall(b"hello over tcp\r\n")  # after the client spoke: pyserial flushes input at open
            time.sleep(0.5)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = server.getsockname()[1]
    console = console_of(make_board(f"port: 'socket://127.0.0.1:{port}'"))
    console.sendline("hello?")
    console.expect("hello over tcp")
    thread.join(timeout=5)
    server.close()
    assert received == [b"hello?\n"]


def test_loop_url_echoes_what_was_sent(make_board: MakeBoard) -> None:
    console = console_of(make_board("port: 'loop://'"))
    console.sendline("ping")
    console.expect("ping")


class Ser2net:
    """ser2net serving the adapter's pty as RFC2217 on a loopback port; `restart()` stops and starts it."""

    def __init__(self, device: str, folder: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.config = folder / "ser2net.yaml"
        self.config.write_text(
            "%YAML 1.1\n---\nconnection: &board\n"
            f"  accepter: telnet(rfc2217),tcp,127.0.0.1,{self.port}\n"
            f"  connector: serialdev,{device},115200n81,local\n"
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["ser2net", "-n", "-d", "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("ser2net did not listen")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def restart(self, down_for: float) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


@pytest.fixture
def ser2net(adapter: FakeAdapter, tmp_path: Path) -> Iterator[Ser2net]:
    if shutil.which("ser2net") is None:
        if os.environ.get("CI"):
            pytest.fail("ser2net is missing: .ci/stand-ins installs it")
        pytest.skip("ser2net is not installed (.ci/stand-ins installs it)")
    server = Ser2net(os.ttyname(adapter.slave), tmp_path)
    yield server
    server.stop()


def test_rfc2217_through_ser2net_talks_changes_baud_and_comes_back_after_a_restart(
    make_board: MakeBoard, adapter: FakeAdapter, ser2net: Ser2net
) -> None:
    board = make_board(f"port: 'rfc2217://127.0.0.1:{ser2net.port}', baudrate: 57600, reconnect_timeout: 10")
    console = console_of(board)
    assert termios.tcgetattr(adapter.slave)[4] == termios.B57600  # the baud rate went through RFC2217
    console.sendline("to the board")
    assert adapter.board_reads() == b"to the board\n"
    adapter.board_prints("from the board\n")
    console.expect("from the board", timeout=5)
    ser2net.restart(down_for=1.0)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # the driver reopens the port once ser2net is back
        adapter.board_prints("after the restart\n")
        try:
            console.expect("after the restart", timeout=1)
            break
        except ConsoleTimeout:
            continue
    else:
        raise AssertionError("no data after ser2net restarted")
    console.sendline("still here")
    assert b"still here" in adapter.board_reads()


def test_rfc2217_urls_get_pyserials_workaround_for_ser2net() -> None:
    from hil_drivers.serial import rfc2217_url

    assert rfc2217_url("rfc2217://host:7000") == "rfc2217://host:7000?ign_set_control"
    assert rfc2217_url("rfc2217://host:7000?timeout=5") == "rfc2217://host:7000?timeout=5&ign_set_control"
    assert rfc2217_url("/dev/ttyUSB0") == "/dev/ttyUSB0"
