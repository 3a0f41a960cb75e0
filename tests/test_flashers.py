"""probe-rs, openocd and esptool as `flasher` resources: against stand-ins that check the exact
arguments and answer in each tool's output formats (failures too), and against the real OpenOCD from
Debian (its Tcl port and its own errors with a dummy adapter) and the real esptool from PyPI."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hil_drivers.flashers.esptool import Esptool
from hil_drivers.flashers.openocd import OpenOcd
from hil_drivers.flashers.probe_rs import ProbeRs
from pytest_hil.board import Board
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import Flasher
from tests import fake_esptool

FAKES = Path(__file__).parent / "fake_tools"
IMAGE = bytes(range(256)) * 16  # 4 KiB


@pytest.fixture
def firmware(tmp_path: Path) -> Path:
    path = tmp_path / "firmware.bin"
    path.write_bytes(IMAGE)
    return path


# probe-rs


@pytest.fixture
def probe_rs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[list[str]]]:
    """The fake probe-rs with `state`; returns a reader of the argument lists it was called with."""
    log = tmp_path / "probe-rs.log"
    monkeypatch.setenv("FAKE_PROBE_RS_LOG", str(log))
    monkeypatch.setenv("FAKE_PROBE_RS_FLASH", str(tmp_path / "probe-rs.flash"))

    def configure(**state: object) -> list[list[str]]:
        monkeypatch.setenv(
            "FAKE_PROBE_RS", json.dumps({"probes": ["0483:374b:0668FF"], "chip": "STM32F401RETx", **state})
        )
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return configure


def make_flasher(make_board: Callable[[str], Board], options: str) -> Flasher:
    board = make_board(f"mcu: {{{options}}}")
    flasher = board.interface("flasher")
    assert isinstance(flasher, Flasher)
    return flasher


def test_probe_rs_flashes_verifies_resets_erases_and_reads(
    make_board: Callable[[str], Board], probe_rs: Callable[..., list[list[str]]], firmware: Path
) -> None:
    probe_rs()
    mcu = make_flasher(
        make_board,
        f"driver: probe-rs, binary: '{FAKES / 'probe-rs'}', chip: STM32F401RETx, probe: '0483:374b:0668FF', connect_under_reset: true",
    )
    assert isinstance(mcu, ProbeRs)
    mcu.flash(firmware, base_address=0x08000000)
    assert mcu.read(0x08000000, 2) == [0x03020100, 0x07060504]
    mcu.reset()
    mcu.erase()
    assert "ARM Chip with debug port" in mcu.info()
    target = ["--chip", "STM32F401RETx", "--protocol", "swd", "--probe", "0483:374b:0668FF", "--connect-under-reset"]
    assert probe_rs() == [
        [
            "download",
            *target,
            "--binary-format",
            "bin",
            "--disable-progressbars",
            "--base-address",
            "0x8000000",
            "--verify",
            str(firmware),
        ],
        ["read", *target, "b32", "0x8000000", "2"],
        ["reset", *target],
        ["erase", *target],
        ["info", "--protocol", "swd", "--probe", "0483:374b:0668FF"],
    ]
    notes = "\n".join(mcu.context.logs.notes)
    assert "[probe-rs]   Programming ✔" in notes and "[probe-rs]      Finished in 0.41s" in notes


@pytest.mark.parametrize(
    ("state", "options", "said"),
    [
        ({"probes": []}, "", "probe-rs exited with 1: Error: No connected probes were found."),
        (
            {},
            "",
            "flash firmware.bin: probe-rs exited with 1: Error: Verification failed: the flash contents do not match the image.",
        ),
        (
            {"chip": "nRF52840_xxAA"},
            "",
            "The connected chip is not a STM32F401RETx: failed to attach (found nRF52840_xxAA)",
        ),
    ],
)
def test_probe_rs_failures_are_one_line_naming_the_cause(
    make_board: Callable[[str], Board], probe_rs: Callable[..., list[list[str]]], firmware: Path,
    state: dict[str, object], options: str, said: str,
) -> None:  # fmt: skip
    probe_rs(verify="mismatch", **state)
    mcu = make_flasher(make_board, f"driver: probe-rs, binary: '{FAKES / 'probe-rs'}', chip: STM32F401RETx{options}")
    with pytest.raises(DriverError) as failure:
        mcu.flash(firmware, base_address=0x08000000)
    assert str(failure.value).startswith("board b, resource mcu: ") and said in str(failure.value)
    assert "\n" not in str(failure.value)


def test_probe_rs_asks_for_an_address_for_raw_images_and_is_missing_politely(
    make_board: Callable[[str], Board], probe_rs: Callable[..., list[list[str]]], firmware: Path
) -> None:
    probe_rs()
    mcu = make_flasher(make_board, f"driver: probe-rs, binary: '{FAKES / 'probe-rs'}', chip: STM32F401RETx")
    with pytest.raises(DriverError, match=r"firmware.bin is a raw image: give base_address=0x\.\.\."):
        mcu.flash(firmware)
    from pytest_hil.errors import DriverUnavailable

    with pytest.raises(DriverUnavailable, match="no-such-probe-rs is not installed"):
        make_flasher(make_board, "driver: probe-rs, binary: no-such-probe-rs, chip: X")


# openocd


@pytest.fixture
def openocd_configs(tmp_path: Path) -> tuple[Path, Path]:
    interface, target = tmp_path / "probe.cfg", tmp_path / "chip.cfg"
    interface.write_text("adapter driver dummy\ntransport select jtag\nadapter speed 1000\n")
    target.write_text("# no target: the dummy adapter has no chip behind it\n")
    return interface, target


@pytest.fixture
def fake_openocd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    log = tmp_path / "openocd.log"
    monkeypatch.setenv("FAKE_OPENOCD_LOG", str(log))
    return lambda: log.read_text().splitlines() if log.exists() else []


def test_openocd_programs_with_verify_and_reset_through_its_tcl_port(
    make_board: Callable[[str], Board], fake_openocd: Callable[[], list[str]], openocd_configs: tuple[Path, Path],
    firmware: Path,
) -> None:  # fmt: skip
    interface, target = openocd_configs
    mcu = make_flasher(
        make_board, f"driver: openocd, binary: '{FAKES / 'openocd'}', interface: '{interface}', target: '{target}'"
    )
    assert isinstance(mcu, OpenOcd)
    mcu.flash(firmware, address=0x08000000)
    assert mcu.read(0x08000000, 2) == [0x03020100, 0x07060504]
    mcu.reset()
    mcu.erase()
    assert mcu.read(0x08000000, 1) == [0xFFFFFFFF]
    assert fake_openocd()[:2] == [
        f"catch {{program {{{firmware}}} 0x8000000 verify reset}} hil_result",
        "set hil_result",
    ]
    assert "catch {reset run} hil_result" in fake_openocd()
    notes = "\n".join(mcu.context.logs.notes)
    assert "[openocd] ** Verified OK **" in notes and "[openocd] ** Resetting Target **" in notes
    mcu.close()
    assert fake_openocd()[-1] == "shutdown"


def test_openocd_verify_mismatch_is_its_own_line(
    make_board: Callable[[str], Board], fake_openocd: Callable[[], list[str]], openocd_configs: tuple[Path, Path],
    firmware: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("FAKE_OPENOCD", json.dumps({"verify": "mismatch"}))
    interface, target = openocd_configs
    mcu = make_flasher(
        make_board, f"driver: openocd, binary: '{FAKES / 'openocd'}', interface: '{interface}', target: '{target}'"
    )
    with pytest.raises(
        DriverError, match=r"^board b, resource mcu: flash firmware.bin: openocd: \*\* Verify Failed \*\*$"
    ):
        mcu.flash(firmware, address=0x08000000)


@pytest.mark.parametrize(
    ("state", "said"),
    [
        ({"probe": "missing"}, "openocd exited with 1 while starting: Error: open failed"),
        (
            {"idcode": "0x2ba01477"},
            "openocd exited with 1 while starting: Error: JTAG tap: stm32f4x.cpu  expected 1 of 1: 0x4ba00477 (mfg: 0x23b (ARM Ltd), part: 0xba00, ver: 0x4)",
        ),
    ],
)
def test_openocd_without_its_probe_or_with_another_chip_says_so(
    make_board: Callable[[str], Board], fake_openocd: Callable[[], list[str]], openocd_configs: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch, state: dict[str, str], said: str,
) -> None:  # fmt: skip
    monkeypatch.setenv("FAKE_OPENOCD", json.dumps(state))
    interface, target = openocd_configs
    mcu = make_flasher(
        make_board, f"driver: openocd, binary: '{FAKES / 'openocd'}', interface: '{interface}', target: '{target}'"
    )
    with pytest.raises(DriverError) as failure:
        mcu.reset()
    assert str(failure.value) == f"board b, resource mcu: {said}"
    assert "UNEXPECTED" in "\n".join(mcu.context.logs.notes) or "open failed" in "\n".join(mcu.context.logs.notes)


@pytest.fixture
def real_openocd() -> str:
    found = shutil.which("openocd")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("openocd is missing (.ci/stand-ins installs it)")
        pytest.skip("needs openocd (Debian: apt-get install openocd)")
    return found


def test_the_real_openocd_starts_serves_tcl_and_its_failures_are_said(
    make_board: Callable[[str], Board], real_openocd: str, openocd_configs: tuple[Path, Path], firmware: Path
) -> None:
    interface, target = openocd_configs
    mcu = make_flasher(make_board, f"driver: openocd, interface: '{interface}', target: '{target}'")
    assert isinstance(mcu, OpenOcd)
    assert mcu.command("version").startswith("Open On-Chip Debugger 0.")
    with pytest.raises(
        DriverError, match=r"^board b, resource mcu: flash firmware.bin: openocd: .*\*\* Unable to reset target \*\*"
    ):
        mcu.flash(firmware, address=0x08000000)  # a dummy adapter has no chip to reset
    mcu.close()


def test_the_real_openocd_missing_a_config_file_says_which(
    make_board: Callable[[str], Board], real_openocd: str, openocd_configs: tuple[Path, Path], firmware: Path
) -> None:
    _, target = openocd_configs
    mcu = make_flasher(make_board, f"driver: openocd, interface: interface/no-such-probe.cfg, target: '{target}'")
    with pytest.raises(
        DriverError, match=r"openocd exited with 1 while starting: .*Can't find interface/no-such-probe.cfg"
    ):
        mcu.reset()


# esptool


@pytest.fixture
def esp() -> Iterator[None]:
    yield
    fake_esptool.DEVICES.clear()
    fake_esptool.FLASH.clear()
    fake_esptool.CALLS.clear()
    fake_esptool.VERIFY["result"] = "ok"


def test_esptool_writes_images_at_their_offsets_resets_and_erases(
    make_board: Callable[[str], Board], esp: None, firmware: Path, tmp_path: Path
) -> None:
    fake_esptool.DEVICES["/dev/ttyESP0"] = "esp32s3"
    mcu = make_flasher(
        make_board, "driver: esptool, module: tests.fake_esptool, port: /dev/ttyESP0, chip: esp32s3, baud: 921600"
    )
    assert isinstance(mcu, Esptool)
    mcu.flash(firmware)
    bootloader = tmp_path / "bootloader.bin"
    bootloader.write_bytes(b"\xe9" * 64)
    mcu.flash({0x0: bootloader, 0x10000: firmware})
    assert fake_esptool.FLASH["/dev/ttyESP0"] == {0x10000: IMAGE, 0x0: b"\xe9" * 64}
    mcu.reset()
    mcu.erase()
    common = [
        "--chip",
        "esp32s3",
        "--port",
        "/dev/ttyESP0",
        "--baud",
        "921600",
        "--before",
        "default-reset",
        "--after",
        "hard-reset",
    ]
    calls = fake_esptool.CALLS
    assert calls == [
        [*common, "write-flash", "0x10000", str(firmware)],
        [*common, "write-flash", "0x0", str(bootloader), "0x10000", str(firmware)],
        [*common, "run"],
        [*common, "erase-flash"],
    ]
    notes = "\n".join(mcu.context.logs.notes)
    assert (
        "[esptool] Writing at 0x00010800 [=====     ]  50.0%" in notes and "[esptool] Hash of data verified." in notes
    )


@pytest.mark.parametrize(
    ("chip", "verify", "said"),
    [
        ("esp32", "ok", "flash firmware.bin at 0x10000: This chip is ESP32S3, not ESP32. Wrong chip argument?"),
        ("esp32s3", "mismatch", "flash firmware.bin at 0x10000: MD5 of file does not match data in flash!"),
    ],
)
def test_esptool_failures_are_one_line(
    make_board: Callable[[str], Board], esp: None, firmware: Path, chip: str, verify: str, said: str
) -> None:
    fake_esptool.DEVICES["/dev/ttyESP0"] = "esp32s3"
    fake_esptool.VERIFY["result"] = verify
    mcu = make_flasher(make_board, f"driver: esptool, module: tests.fake_esptool, port: /dev/ttyESP0, chip: {chip}")
    with pytest.raises(DriverError) as failure:
        mcu.flash(firmware)
    assert str(failure.value) == f"board b, resource mcu: {said}"


def test_the_real_esptool_is_called_and_a_missing_port_is_one_line(
    make_board: Callable[[str], Board], firmware: Path, tmp_path: Path
) -> None:
    pytest.importorskip("esptool")
    mcu = make_flasher(make_board, f"driver: esptool, port: '{tmp_path / 'ttyNONE'}', chip: esp32")
    assert isinstance(mcu, Esptool) and mcu.version[0].isdigit()
    with pytest.raises(DriverError) as failure:
        mcu.flash(firmware)
    assert str(failure.value) == (
        f"board b, resource mcu: flash firmware.bin at 0x10000: Could not open {tmp_path / 'ttyNONE'}, the port is busy or doesn't exist."
    )
    assert any("[esptool] esptool v" in note for note in mcu.context.logs.notes)
