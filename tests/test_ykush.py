"""ykush-power through pyusb against a virtual YKUSH on the test USB bus: the exact HID reports sent,
the answers read, the kernel's HID driver taken off the interface, and the failures real hubs have."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hil_drivers.usb.ykush import YkushPower
from pytest_hil.board import Board
from pytest_hil.errors import DriverError
from tests.usb_bus import BUS, VirtualHub, VirtualYkush

pytestmark = pytest.mark.usefixtures("virtual_bus")


def ykush(make_board: Callable[[str], Board], options: str) -> tuple[YkushPower, Board]:
    board = make_board(f"power: {{driver: ykush-power, backend: 'tests.usb_bus:BUS', {options}}}")
    power = board.power
    assert isinstance(power, YkushPower)
    return power, board


def commands() -> list[int]:
    """The command byte of every report sent, each checked to be a whole 64-byte report."""
    assert all(len(report.data) == 64 and report.endpoint == 0x01 for report in BUS.reports)
    assert all(report.data[1:] == bytes(63) for report in BUS.reports)
    return [report.data[0] for report in BUS.reports]


def test_switches_one_port_with_the_hubs_own_reports_and_reads_it_back(make_board: Callable[[str], Board]) -> None:
    changes: list[tuple[int, bool]] = []
    hub = VirtualYkush(on_power=lambda port, on: changes.append((port, on)))
    BUS.plug(hub)
    power, board = ykush(make_board, "port: 2")
    power.off()
    assert hub.powered == {1: True, 2: False, 3: True} and power.state() is False
    power.on()
    assert hub.powered == {1: True, 2: True, 3: True} and power.state() is True
    assert changes == [(2, False), (2, True)]
    assert commands() == [0xF1, 0x02, 0x22, 0x22, 0x12, 0x22, 0x22]  # count; down, read back; state; up...
    assert not hub.kernel_bound  # usbhid was taken off the interface
    assert any("[hil] power off (ykush-power 1-1 04d8:f2f7 serial YK12345 port 2)" in note for note in board.logs.notes)


def test_all_ports_at_once(make_board: Callable[[str], Board]) -> None:
    hub = VirtualYkush()
    BUS.plug(hub)
    power, _ = ykush(make_board, "port: all")
    power.off()
    assert set(hub.powered.values()) == {False} and power.state() is False
    power.on()
    assert set(hub.powered.values()) == {True}
    assert commands()[1] == 0x0A and 0x1A in commands()


def test_a_ykush3_and_the_right_hub_by_serial(make_board: Callable[[str], Board]) -> None:
    BUS.plug(VirtualYkush(serial="YK111", ports=(1,)))
    three = VirtualYkush(serial="YK333", product=0xF11B, port_count=4, ports=(2,), address=3)
    BUS.plug(three)
    power, _ = ykush(make_board, "port: 4, serial: YK333")
    power.off()
    assert three.powered[4] is False


def test_a_missing_or_ambiguous_hub_says_what_is_on_the_bus(make_board: Callable[[str], Board]) -> None:
    BUS.plug(VirtualHub())
    with pytest.raises(DriverError, match=r"no YKUSH 04d8:\* on the bus; found:\n  1-1 2109:2817"):
        ykush(make_board, "port: 1")
    BUS.plug(VirtualYkush(serial="YK1"))
    BUS.plug(VirtualYkush(serial="YK2", address=3))
    with pytest.raises(DriverError, match=r"2 YKUSH hubs match 04d8:\*: .*serial YK1; .*serial YK2 \(add serial"):
        ykush(make_board, "port: 1")


def test_a_port_the_hub_does_not_have(make_board: Callable[[str], Board]) -> None:
    BUS.plug(VirtualYkush())
    with pytest.raises(DriverError, match=r"port 4: YKUSH 1-1 04d8:f2f7 serial YK12345 has 3 ports"):
        ykush(make_board, "port: 4")


def test_a_hub_that_stops_answering_fails_naming_the_command(make_board: Callable[[str], Board]) -> None:
    hub = VirtualYkush()
    BUS.plug(hub)
    power, _ = ykush(make_board, "port: 1, timeout: 0.2")
    hub.silent = True
    with pytest.raises(
        DriverError, match=r"YKUSH 1-1 04d8:f2f7 serial YK12345 did not answer command 0x01 within 0.2 s"
    ):
        power.off()


def test_a_hub_unplugged_after_start_is_a_clear_error(make_board: Callable[[str], Board]) -> None:
    hub = VirtualYkush()
    BUS.plug(hub)
    power, _ = ykush(make_board, "port: 1")
    BUS.unplug(hub)
    with pytest.raises(DriverError, match=r"YKUSH 1-1 04d8:f2f7 serial YK12345: .*No such device"):
        power.on()


@pytest.mark.parametrize(("port", "said"), [("0", "port: 0 is not a YKUSH port"), ("five", "port: expected")])
def test_bad_ports_are_lab_errors(make_board: Callable[[str], Board], port: str, said: str) -> None:
    from pytest_hil.errors import LabError

    with pytest.raises(LabError, match=said):
        make_board(f"power: {{driver: ykush-power, backend: 'tests.usb_bus:BUS', port: {port}}}")
