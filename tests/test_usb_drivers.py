"""usb-hub-power and sdwire, through pyusb's own lookup code against a virtual USB bus."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hil_drivers.usb.hub import UsbHubPower
from hil_drivers.usb.presence import UsbDevice
from hil_drivers.usb.sdwire import SdWire
from pytest_hil.board import Board
from pytest_hil.errors import DriverError, LabError
from pytest_hil.lab import load_lab
from tests.usb_bus import BUS, Transfer, VirtualDevice, VirtualHub, VirtualSdWire

MIB = 2**20


pytestmark = pytest.mark.usefixtures("virtual_bus")


def hub_power(make_board: Callable[[str], Board], options: str) -> tuple[UsbHubPower, Board]:
    board = make_board(f"power: {{driver: usb-hub-power, backend: 'tests.usb_bus:BUS', {options}}}")
    power = board.power
    assert isinstance(power, UsbHubPower)
    return power, board


def port_requests(hub: str = "USB2.0 Hub") -> list[tuple[int, int, int, int]]:
    return [(t.request_type, t.request, t.value, t.index) for t in BUS.transfers if t.device == hub and t.request != 6]


def test_switches_a_hub_port_and_the_board_behind_it_comes_and_goes(make_board: Callable[[str], Board]) -> None:
    gadget = VirtualDevice(0x1D6B, 0x0104, serial="board-b", name="board gadget", ports=(1, 2), address=5)

    def on_power(port: int, on: bool) -> None:
        if port == 2:
            (BUS.plug if on else BUS.unplug)(gadget)

    BUS.plug(VirtualHub(on_power=on_power, ports=(1,)))
    BUS.plug(gadget)
    power, board = hub_power(make_board, "vendor: 0x2109, product: 0x2817, port: 2")
    power.off()
    assert power.state() is False and gadget not in BUS.devices
    power.on()
    assert power.state() is True and gadget in BUS.devices
    assert port_requests() == [
        (0x23, 0x01, 8, 2),  # CLEAR_FEATURE PORT_POWER, port 2
        (0xA3, 0x00, 0, 2),  # GET_STATUS: read back
        (0xA3, 0x00, 0, 2),  # state()
        (0x23, 0x03, 8, 2),  # SET_FEATURE PORT_POWER
        (0xA3, 0x00, 0, 2),
        (0xA3, 0x00, 0, 2),
    ]
    lines = board.logs.logs["console"].recent_lines()
    assert "[hil] power off (usb-hub-power 1-1 2109:2817 port 2)" in lines
    assert "[hil] power on (usb-hub-power 1-1 2109:2817 port 2)" in lines


def test_a_usb3_hub_is_asked_for_its_superspeed_descriptor_and_status_bit(make_board: Callable[[str], Board]) -> None:
    hub = VirtualHub(0x2109, 0x0817, bcd_usb=0x0310, bus=2, ports=(3,))
    BUS.plug(hub)
    power, _ = hub_power(make_board, "path: 2-3, port: 4")
    power.off()
    assert hub.powered == {1: True, 2: True, 3: True, 4: False} and power.state() is False
    descriptor_requests = [t for t in BUS.transfers if t.request == 6 and t.request_type == 0xA0]
    assert [t.value >> 8 for t in descriptor_requests] == [0x2A]


def test_identical_hubs_are_told_apart_by_path(make_board: Callable[[str], Board]) -> None:
    first, second = VirtualHub(ports=(1,)), VirtualHub(ports=(2,))
    BUS.plug(first)
    BUS.plug(second)
    with pytest.raises(DriverError, match=r"2 USB hubs match 2109:2817: 1-1 2109:2817; 1-2 2109:2817 \(add serial or"):
        hub_power(make_board, "vendor: 0x2109, product: 0x2817, port: 1")
    power, _ = hub_power(make_board, "vendor: 0x2109, path: 1-2, port: 1")
    power.off()
    assert first.powered[1] is True and second.powered[1] is False


def test_a_missing_hub_lists_what_is_on_the_bus(make_board: Callable[[str], Board]) -> None:
    BUS.plug(VirtualHub(ports=(1,)))
    BUS.plug(VirtualSdWire(ports=(1, 3)))
    with pytest.raises(DriverError) as raised:
        hub_power(make_board, "vendor: 0x05e3, port: 1")
    assert str(raised.value) == (
        "board b, resource power: no USB hub 05e3:* on the bus; found:\n"
        "  1-1 2109:2817\n  1-1.3 04e8:6001 serial sd-wire_11"
    )


@pytest.mark.parametrize(
    ("switching", "options", "message"),
    [
        ("ganged", "", r"switches power ganged, not port by port \(allow_ganged: true to switch it anyway\)"),
        ("never", "", r"switches power never, not port by port$"),
        ("per-port", "", r"port 7: hub 1-1 2109:2817 has 4 ports"),
    ],
)
def test_hubs_that_cannot_switch_the_port_are_refused(
    make_board: Callable[[str], Board], switching: str, options: str, message: str
) -> None:
    BUS.plug(VirtualHub(switching=switching, ports=(1,)))
    port = 7 if switching == "per-port" else 1
    with pytest.raises(DriverError, match=message):
        hub_power(make_board, f"vendor: 0x2109, port: {port}{options}")


def test_a_ganged_hub_switches_all_ports_when_allowed(make_board: Callable[[str], Board]) -> None:
    hub = VirtualHub(switching="ganged", ports=(1,))
    BUS.plug(hub)
    power, _ = hub_power(make_board, "vendor: 0x2109, port: 1, allow_ganged: true")
    power.off()
    assert set(hub.powered.values()) == {False}


def test_a_hub_unplugged_after_start_is_a_clear_error(make_board: Callable[[str], Board]) -> None:
    hub = VirtualHub(ports=(1,))
    BUS.plug(hub)
    power, _ = hub_power(make_board, "vendor: 0x2109, port: 1")
    BUS.unplug(hub)
    with pytest.raises(DriverError, match=r"board b, resource power: hub 1-1 2109:2817: .*No such device"):
        power.off()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("path: '1.2', port: 1", "power.path: '1.2' is not a USB port path like 1-1.4 (bus-port.port...)"),
        ("vendor: 0x2109, port: 0", "power.port: 0 is not a port number (they start at 1)"),
        ("port: 1, backend: libusb9", "power.backend: 'libusb9' is none of auto, libusb1, libusb0, openusb"),
    ],
)
def test_bad_usb_options_are_lab_file_errors(write_lab: Callable[..., Path], options: str, message: str) -> None:
    path = write_lab(f"version: 1\nboards:\n  b:\n    resources:\n      power: {{driver: usb-hub-power, {options}}}\n")
    with pytest.raises(LabError) as raised:
        load_lab(path)
    assert f"{path}:5: boards.b.resources." in str(raised.value) and message in str(raised.value)


# sdwire


@pytest.fixture
def card(tmp_path: Path) -> tuple[Path, Path]:
    """The card's contents (a file) and where its reader appears on the host (a by-id style link)."""
    contents = tmp_path / "card.bin"
    contents.write_bytes(b"\xff" * MIB)
    return contents, tmp_path / "by-id" / "usb-SD_Reader-0:0"


def sdwire_on_bus(card: tuple[Path, Path], enumerate_after: float | None = 0.3) -> VirtualSdWire:
    contents, device = card
    device.parent.mkdir(exist_ok=True)

    def on_select(host: bool) -> None:
        if not host:
            device.unlink(missing_ok=True)  # the reader leaves the host
        elif enumerate_after is not None:
            import threading

            threading.Timer(enumerate_after, device.symlink_to, (contents,)).start()

    mux = VirtualSdWire(on_select=on_select, ports=(1, 4))
    BUS.plug(mux)
    return mux


def sdwire(make_board: Callable[[str], Board], device: Path, options: str = "") -> tuple[SdWire, Board]:
    board = make_board(
        f"storage: {{driver: sdwire, backend: 'tests.usb_bus:BUS', device: '{device}', settle: 0.05, wait: 2{options}}}"
    )
    storage = board.storage
    assert isinstance(storage, SdWire)
    return storage, board


def bitmodes() -> list[int]:
    return [t.value for t in BUS.transfers if t.request == 0x0B]


def test_write_gives_the_card_to_the_host_writes_it_and_gives_it_back(
    make_board: Callable[[str], Board], card: tuple[Path, Path], tmp_path: Path
) -> None:
    contents, device = card
    mux = sdwire_on_bus(card)
    storage, board = sdwire(make_board, device, ", serial: sd-wire_11")
    image = tmp_path / "sdcard.img"
    image.write_bytes(bytes(range(256)) * 8192)
    storage.write(image, verify=True)
    assert contents.read_bytes() == image.read_bytes()
    assert bitmodes() == [0x20F1, 0x20F0] and mux.host is False and not device.exists()
    lines = board.logs.logs["console"].recent_lines()
    assert lines.index("[hil] sd card -> host (sdwire 1-1.4 04e8:6001 serial sd-wire_11)") < lines.index(
        "[hil] sd card -> board (sdwire 1-1.4 04e8:6001 serial sd-wire_11)"
    )
    assert "verified: sha256 " in lines and "of the whole image" in lines
    storage.read(tmp_path / "back.bin", 4096)
    assert (tmp_path / "back.bin").read_bytes() == image.read_bytes()[:4096] and mux.host is False


def test_a_reader_that_never_enumerates_fails_naming_the_device(
    make_board: Callable[[str], Board], card: tuple[Path, Path], tmp_path: Path
) -> None:
    _, device = card
    sdwire_on_bus(card, enumerate_after=None)
    storage, _ = sdwire(make_board, device)
    image = tmp_path / "sdcard.img"
    image.write_bytes(b"x" * 4096)
    with pytest.raises(DriverError, match=rf"board b, resource storage: {device} did not appear within 2 s"):
        storage.write(image)


def test_the_right_sdwire_is_chosen_by_serial_and_a_missing_one_is_listed(
    make_board: Callable[[str], Board], card: tuple[Path, Path]
) -> None:
    _, device = card
    BUS.plug(VirtualSdWire(serial="sd-wire_01", ports=(1, 1)))
    sdwire_on_bus(card)
    with pytest.raises(DriverError, match="2 SDWires match 04e8:6001"):
        sdwire(make_board, device)
    storage, _ = sdwire(make_board, device, ", serial: sd-wire_11")
    storage.host()
    assert [t for t in BUS.transfers if t.request == 0x0B] == [Transfer("sd-wire", 0x40, 0x0B, 0x20F1, 1, b"")]
    with pytest.raises(DriverError, match=r"no SDWire 04e8:6001 serial sd-wire_99 on the bus; found:\n  1-1.1"):
        sdwire(make_board, device, ", serial: sd-wire_99")


# usb: devices that come and go


def usb_device(make_board: Callable[[str], Board], options: str) -> UsbDevice:
    board = make_board(f"dfu: {{driver: usb, backend: 'tests.usb_bus:BUS', poll: 0.02, {options}}}")
    device = board.dfu
    assert isinstance(device, UsbDevice)
    return device


def test_a_device_that_enumerates_late_is_waited_for_and_its_departure_too(
    make_board: Callable[[str], Board],
) -> None:
    dfu = VirtualDevice(0x0483, 0xDF11, serial="3276375E3036", name="STM32 DFU", ports=(1, 2))
    BUS.plug(VirtualDevice(0x1D6B, 0x0002, name="root hub", ports=()))
    device = usb_device(make_board, "vendor: 0x0483, product: 0xdf11")
    assert device.find() is None
    BUS.plug(dfu, after=0.3)  # the board resets into its boot ROM's DFU mode
    found = device.wait_present(timeout=5)
    assert (found.idVendor, found.idProduct, found.serial_number) == (0x0483, 0xDF11, "3276375E3036")
    threading.Timer(0.3, BUS.unplug, (dfu,)).start()  # and leaves it again
    device.wait_absent(timeout=5)
    assert device.find() is None


def test_waits_that_time_out_say_what_is_on_the_bus(make_board: Callable[[str], Board]) -> None:
    BUS.plug(VirtualDevice(0x0483, 0x5740, serial="A1", name="board CDC", ports=(1, 2)))
    device = usb_device(make_board, "vendor: 0x0483, product: 0xdf11, serial: '3276375E3036'")
    with pytest.raises(DriverError) as raised:
        device.wait_present(timeout=0.2)
    assert str(raised.value) == (
        "board b, resource dfu: no USB device 0483:df11 serial 3276375E3036 appeared within 0.2 s; on the bus:\n"
        "  1-1.2 0483:5740 serial A1"
    )
    cdc = usb_device(make_board, "path: 1-1.2")
    with pytest.raises(
        DriverError, match=r"resource dfu: USB device 1-1.2 0483:5740 serial A1 still present after 0.2 s"
    ):
        cdc.wait_absent(timeout=0.2)


def test_a_selector_matching_two_devices_is_ambiguous_and_lists_them(make_board: Callable[[str], Board]) -> None:
    BUS.plug(VirtualDevice(0x0483, 0xDF11, serial="AAA", name="dfu one", ports=(1, 1)))
    BUS.plug(VirtualDevice(0x0483, 0xDF11, serial="BBB", name="dfu two", ports=(1, 2)))
    device = usb_device(make_board, "vendor: 0x0483, product: 0xdf11")
    with pytest.raises(DriverError) as raised:
        device.wait_present(timeout=1)
    assert str(raised.value) == (
        "board b, resource dfu: 2 USB devices match 0483:df11: 1-1.1 0483:df11 serial AAA; "
        "1-1.2 0483:df11 serial BBB (add serial or path)"
    )
    assert usb_device(make_board, "vendor: 0x0483, serial: BBB").find().serial_number == "BBB"
