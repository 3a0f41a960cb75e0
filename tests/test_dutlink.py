"""dutlink: power with its meter, the storage mux writing through the block device it shows the host,
and the board's console on the harness's second USB serial port, against a virtual DUTLink on the
test USB bus and a real pseudo-terminal as that serial port."""

from __future__ import annotations

import os
import pty
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hil_drivers.usb.dutlink import Dutlink, PowerReading
from pytest_hil.board import Board
from pytest_hil.errors import DriverError
from tests.usb_bus import BUS, VirtualDutlink

MIB = 2**20


pytestmark = pytest.mark.usefixtures("virtual_bus")


class Rig:
    """The harness on the bus, its console pty (as /dev/serial/by-id names it) and its medium."""

    def __init__(self, tmp_path: Path, serial: str = "dl-0042") -> None:
        self.by_id = tmp_path / "by-id"
        self.by_id.mkdir(exist_ok=True)
        self.master, slave = pty.openpty()
        self.slave_path = Path(os.ttyname(slave))
        os.close(slave)
        (self.by_id / f"usb-Red_Hat_Inc._Jumpstarter_{serial}-if02").symlink_to(self.slave_path)
        (self.by_id / f"usb-Red_Hat_Inc._Jumpstarter_{serial}-if00").symlink_to("/dev/null")  # its own shell
        self.medium = tmp_path / "medium.bin"
        self.medium.write_bytes(b"\xff" * MIB)
        self.device = tmp_path / "disk" / "usb-Jumpstarter_Storage-0:0"
        self.device.parent.mkdir(exist_ok=True)
        self.harness = VirtualDutlink(serial=serial, on_storage=self._storage, ports=(1, 2))
        BUS.plug(self.harness)

    def _storage(self, side: str) -> None:
        if side == "host":
            threading.Timer(0.2, self.device.symlink_to, (self.medium,)).start()  # enumerates a little later
        else:
            self.device.unlink(missing_ok=True)

    def board_says(self, text: str) -> None:
        os.write(self.master, text.encode())

    def board_reads(self, size: int = 1024) -> bytes:
        import select

        select.select([self.master], [], [], 5)
        return os.read(self.master, size)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    made = Rig(tmp_path)
    yield made
    os.close(made.master)


def dutlink(make_board: Callable[[str], Board], rig: Rig, wait: float = 3.0) -> tuple[Dutlink, Board]:
    board = make_board(
        f"dut: {{driver: dutlink, backend: 'tests.usb_bus:BUS', serial: dl-0042, by_id: '{rig.by_id}',"
        f" storage_device: '{rig.device}', wait: {wait}}}"
    )
    driver = board.resource("dut")
    assert isinstance(driver, Dutlink)
    return driver, board


def test_power_and_its_meter(make_board: Callable[[str], Board], rig: Rig) -> None:
    harness, board = dutlink(make_board, rig)
    rig.harness.meter = (1.25, 5.02, 0.249)
    assert harness.read() == PowerReading(0.0, 0.0, 0.0)  # off: nothing flows
    harness.on()
    assert rig.harness.power is True and harness.read() == PowerReading(1.25, 5.02, 0.25)
    harness.off()
    assert rig.harness.power is False and harness.state() is None
    assert harness.version() == "0.07-test"
    vendor = [(t.request_type, t.request, t.value, t.index) for t in BUS.transfers if t.request_type in (0x41, 0xC1)]
    assert (0x41, 1, 1, 5) in vendor and (0x41, 1, 0, 5) in vendor and (0x41, 0, 0, 5) in vendor
    lines = board.logs.logs["console"].recent_lines()
    assert "[hil] power on (dutlink 1-1.2 2b23:1012 serial dl-0042)" in lines


def test_the_board_fixtures_by_interface_are_the_one_harness(make_board: Callable[[str], Board], rig: Rig) -> None:
    harness, board = dutlink(make_board, rig)
    assert board.interface("power") is harness and board.interface("storage") is harness
    assert board.interface("console") is harness


def test_write_goes_through_the_mux_and_the_block_device(
    make_board: Callable[[str], Board], rig: Rig, tmp_path: Path
) -> None:
    harness, board = dutlink(make_board, rig)
    image = tmp_path / "image.img"
    image.write_bytes(bytes(range(256)) * 2048)
    harness.storage.write(image, verify=True)
    assert rig.medium.read_bytes()[: len(image.read_bytes())] == image.read_bytes()
    assert rig.harness.storage == "dut" and not rig.device.exists()
    harness.storage.read(tmp_path / "back.bin", 4096)
    assert (tmp_path / "back.bin").read_bytes() == image.read_bytes()[:4096] and rig.harness.storage == "dut"
    harness.storage.off()
    assert rig.harness.storage == "off" and rig.harness.power is False  # the mux, not the board's power
    lines = board.logs.logs["console"].recent_lines()
    assert lines.index("[hil] storage -> host (dutlink 1-1.2 2b23:1012 serial dl-0042)") < lines.index(
        "[hil] storage -> board (dutlink 1-1.2 2b23:1012 serial dl-0042)"
    )


def test_the_console_is_the_harness_serial_port_found_by_its_serial_number(
    make_board: Callable[[str], Board], rig: Rig
) -> None:
    harness, board = dutlink(make_board, rig)
    rig.board_says("U-Boot 2024.01\r\nHit any key to stop autoboot\r\n")
    harness.expect("stop autoboot", timeout=5)
    harness.sendline("version")
    assert rig.board_reads() == b"version\n"  # as sendline ends lines on every console
    assert "U-Boot 2024.01" in board.logs.logs["dut"].recent_lines()


def test_what_is_missing_is_said(make_board: Callable[[str], Board], rig: Rig, tmp_path: Path) -> None:
    (rig.by_id / "usb-Red_Hat_Inc._Jumpstarter_dl-0042-if02").unlink()
    with pytest.raises(DriverError, match=r"no console for DUTLink serial dl-0042 in .*by-id \(usb-..._SERIAL-if02\)"):
        dutlink(make_board, rig)
    BUS.reset()
    with pytest.raises(DriverError, match=r"no DUTLink 2b23:1012 serial dl-0042 on the bus"):
        dutlink(make_board, rig)


def test_storage_without_a_device_and_a_mux_that_never_shows_one(
    make_board: Callable[[str], Board], rig: Rig, tmp_path: Path
) -> None:
    rig.harness.on_storage = None  # the medium never enumerates on the host
    board = make_board(f"dut: {{driver: dutlink, backend: 'tests.usb_bus:BUS', by_id: '{rig.by_id}'}}")
    harness = board.resource("dut")
    assert isinstance(harness, Dutlink)
    with pytest.raises(DriverError, match="storage_device: name the block device the DUTLink shows the host"):
        harness.write(tmp_path / "x.img")
    harness2, _ = dutlink(make_board, rig, wait=0.3)
    image = tmp_path / "image.img"
    image.write_bytes(b"x" * 4096)
    with pytest.raises(DriverError, match=r"usb-Jumpstarter_Storage-0:0"):
        harness2.write(image)
