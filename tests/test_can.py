"""can: a real python-can bus (the virtual interface) with expect_frame, collect, ISO-TP, candump logs,
and the simulated board's CAN node."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import can
import pytest

from hil_drivers.can.bus import CanBus, FrameNotSeen
from pytest_hil.board import Board
from pytest_hil.errors import DriverError, LabError
from pytest_hil.interfaces import Power
from pytest_hil.lab import load_lab


@pytest.fixture
def channel(request: pytest.FixtureRequest) -> str:
    return f"hil-test-{abs(hash(request.node.nodeid))}"  # a virtual bus of this test's own


@pytest.fixture
def peer(channel: str) -> Iterator[can.BusABC]:
    """Another node on the same bus, driven by plain python-can."""
    bus = can.Bus(interface="virtual", channel=channel)
    yield bus
    bus.shutdown()


def bus_of(board: Board, name: str = "can0") -> CanBus:
    driver = board.resource(name)
    assert isinstance(driver, CanBus)
    return driver


def test_the_fixture_is_a_real_python_can_bus(
    make_board: Callable[[str], Board], channel: str, peer: can.BusABC, tmp_path: Path
) -> None:
    board = make_board(f"can0: {{driver: can, interface: virtual, channel: {channel}}}", tmp_path / "logs" / "test")
    bus = bus_of(board)
    assert isinstance(bus, can.BusABC)
    bus.send(can.Message(arbitration_id=0x123, data=b"\xde\xad\xbe\xef", is_extended_id=False))
    got = peer.recv(1)
    assert got is not None and got.arbitration_id == 0x123 and bytes(got.data) == b"\xde\xad\xbe\xef"
    peer.send(can.Message(arbitration_id=0x18DAF110, data=b"\x02\x10\x01", is_extended_id=True))
    received: list[can.Message] = []
    notifier = can.Notifier(bus, [received.append])  # ordinary python-can machinery on the fixture
    deadline = time.monotonic() + 2
    while not received and time.monotonic() < deadline:
        time.sleep(0.01)
    notifier.stop()
    assert received[0].arbitration_id == 0x18DAF110
    task = bus.send_periodic(can.Message(arbitration_id=0x321, data=b"\x01", is_extended_id=False), 0.02)
    frames = [peer.recv(1) for _ in range(3)]
    task.stop()
    assert [frame.arbitration_id for frame in frames if frame is not None] == [0x321] * 3
    board.logs.end_test()
    log = (tmp_path / "logs" / "test" / "b.can0.candump.log").read_text().splitlines()
    assert log[0].endswith(f" {channel} 123#DEADBEEF") and log[0].startswith("(")
    assert log[1].endswith(f" {channel} 18DAF110#021001")
    assert sum(line.endswith(" 321#01") for line in log) >= 3


def test_expect_frame_matches_id_mask_and_data_and_lists_what_came_instead(
    make_board: Callable[[str], Board], channel: str, peer: can.BusABC
) -> None:
    bus = bus_of(make_board(f"      can0: {{driver: can, interface: virtual, channel: {channel}}}\n"))

    def chatter() -> None:
        for ident, data in ((0x100, b"\x01"), (0x101, b"\x02"), (0x7E8, b"\x03\x62\xf1\x90")):
            time.sleep(0.05)
            peer.send(can.Message(arbitration_id=ident, data=data, is_extended_id=False))

    threading.Thread(target=chatter).start()
    frame = bus.expect_frame(0x7E0, mask=0x7F0, data=b"\x03\x62\xf1\x90", timeout=2)
    assert frame.arbitration_id == 0x7E8
    threading.Thread(target=chatter).start()
    with pytest.raises(FrameNotSeen) as raised:
        bus.expect_frame(0x555, timeout=0.5)
    message = str(raised.value)
    assert message.startswith("board b, resource can0: no frame 555 within 0.5 s; 3 other frames came:")
    assert message.splitlines()[1].endswith(f"{channel} 100#01") and message.splitlines()[3].endswith("7E8#0362F190")
    assert isinstance(raised.value, AssertionError)  # a test failure, not an error


def test_filters_from_the_lab_file_and_collect(
    make_board: Callable[[str], Board], channel: str, peer: can.BusABC
) -> None:
    board = make_board(
        f"      can0: {{driver: can, interface: virtual, channel: {channel}, filters: [{{can_id: 0x700, can_mask: 0x780}}]}}\n"
    )
    bus = bus_of(board)

    def send() -> None:
        time.sleep(0.05)
        for ident in (0x701, 0x123, 0x77F, 0x7E8):
            peer.send(can.Message(arbitration_id=ident, data=b"\x05", is_extended_id=False))

    threading.Thread(target=send).start()
    assert [frame.arbitration_id for frame in bus.collect(0.4)] == [0x701, 0x77F]


def test_bad_can_options_are_lab_file_errors(write_lab: Callable[..., Path]) -> None:
    path = write_lab(
        "version: 1\nboards:\n  b:\n    resources:\n"
        "      can0: {driver: can, interface: virtual, channel: x, filters: [{can_id: 1, mask: 2}]}\n"
    )
    with pytest.raises(LabError, match=rf"{path}:5: boards.b.resources.can0.filters: \[0\]: unknown key 'mask'"):
        load_lab(path)


SIM = """\
      power: {{driver: sim-power, boot_time: 0.1, can_channel: {channel}, can_node: 5}}
      console: {{driver: sim-console}}
      can0: {{driver: can, interface: virtual, channel: {channel}}}
"""


def test_the_sim_board_beats_while_powered_and_answers_uds_over_isotp(
    make_board: Callable[[str], Board], channel: str
) -> None:
    pytest.importorskip("isotp")
    board = make_board(SIM.format(channel=channel))
    power, bus = board.power, bus_of(board)
    assert isinstance(power, Power)
    assert bus.collect(0.3) == []  # off: silent
    power.on()
    assert bytes(bus.expect_frame(0x705, timeout=2).data) == b"\x00"  # boot-up
    beats = [frame for frame in bus.collect(0.55) if frame.arbitration_id == 0x705]
    assert 3 <= len(beats) <= 7 and {bytes(frame.data) for frame in beats} == {b"\x05"}
    vin = bus.isotp_request(b"\x22\xf1\x90", tx_id=0x7E0, rx_id=0x7E8)  # multi-frame answer: flow control
    assert vin == b"\x62\xf1\x90" + b"HILSIMB0000000000"
    assert bus.isotp_request(b"\x22\xf1\x95", 0x7E0, 0x7E8) == b"\x62\xf1\x95sim-firmware-1.0"
    assert bus.isotp_request(b"\x22\x12\x34", 0x7E0, 0x7E8) == b"\x7f\x22\x31"  # requestOutOfRange
    assert bus.isotp_request(b"\x3e\x00", 0x7E0, 0x7E8) == b"\x7e\x00"
    power.off()
    time.sleep(0.2)
    assert bus.collect(0.3) == []


@pytest.fixture
def vcan0() -> Iterator[str]:
    """vcan0 when the kernel lets us create it (these machines' kernels have no vcan module: skip)."""
    import subprocess

    if not Path("/sys/class/net/vcan0").exists():
        made = subprocess.run(["ip", "link", "add", "dev", "vcan0", "type", "vcan"], capture_output=True, text=True)
        if made.returncode != 0:
            pytest.skip(
                f"cannot create vcan0 here: {made.stderr.strip() or 'ip link failed'} (no vcan in this kernel?)"
            )
        subprocess.run(["ip", "link", "set", "vcan0", "up"], check=True)
        yield "vcan0"
        subprocess.run(["ip", "link", "del", "vcan0"], check=False)
        return
    yield "vcan0"


def test_socketcan_on_vcan0(make_board: Callable[[str], Board], vcan0: str) -> None:
    bus = bus_of(make_board(f"      can0: {{driver: can, interface: socketcan, channel: {vcan0}}}\n"))
    peer = can.Bus(interface="socketcan", channel=vcan0)
    try:
        peer.send(can.Message(arbitration_id=0x42, data=b"\x01\x02", is_extended_id=False))
        assert bytes(bus.expect_frame(0x42, timeout=2).data) == b"\x01\x02"
    finally:
        peer.shutdown()


NODE = """
import sys, can
bus = can.Bus(interface="udp_multicast", channel="239.74.163.2", port=43113, hop_limit=1)
print("node up", flush=True)
while True:  # answer every 0x123 with 0x124 carrying the data reversed
    frame = bus.recv(10)
    if frame is None:
        sys.exit(3)
    if frame.arbitration_id == 0x123:
        bus.send(can.Message(arbitration_id=0x124, data=bytes(reversed(frame.data)), is_extended_id=False))
        break
bus.shutdown()
"""

TESTER = """
import sys, time
from pathlib import Path
from pytest_hil.board import Board
from pytest_hil.lab import load_lab
import can
lab = load_lab(Path(sys.argv[1]))
board = Board(lab.boards["b"], lab.path.parent)
bus = board.can0
time.sleep(0.3)
bus.send(can.Message(arbitration_id=0x123, data=b"\\x01\\x02\\x03", is_extended_id=False))
frame = bus.expect_frame(0x124, timeout=5)
print("reply", bytes(frame.data).hex(), flush=True)
board.close()
"""


def test_udp_multicast_between_processes_in_a_private_network_namespace(tmp_path: Path) -> None:
    """Two processes on one CAN bus over UDP multicast, inside `unshare -n` (never this machine's own
    namespace: multicast would leave through its network)."""
    import shutil
    import subprocess
    import sys

    pytest.importorskip("msgpack")
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {probe.stderr.strip()}")
    (tmp_path / "node.py").write_text(NODE)
    (tmp_path / "tester.py").write_text(TESTER)
    (tmp_path / "lab.yaml").write_text(
        "version: 1\nboards:\n  b:\n    resources:\n"
        "      can0: {driver: can, interface: udp_multicast, channel: 239.74.163.2, extra: {port: 43113}}\n"
    )
    script = (
        "ip link set lo up && ip link set lo multicast on && ip route add 239.0.0.0/8 dev lo && "
        f"{sys.executable} node.py & sleep 0.5; {sys.executable} tester.py lab.yaml; wait"
    )
    result = subprocess.run(
        ["unshare", "-n", "sh", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert "node up" in result.stdout and "reply 030201" in result.stdout, result.stderr


def virtual_bus_lab(folder: Path, channel: str) -> Path:
    """A lab file whose board `b` has a `can0` on the virtual bus `channel`."""
    lab = folder / "lab.yaml"
    lab.write_text(
        f"version: 1\nboards:\n  b:\n    resources:\n      can0: {{driver: can, interface: virtual, channel: {channel}}}\n"
    )
    return lab


def test_each_test_gets_its_frames_in_a_candump_log_named_in_junit(
    pytester: pytest.Pytester, channel: str, tmp_path: Path
) -> None:
    lab = virtual_bus_lab(tmp_path, channel)
    pytester.makepyfile(
        """
        import can

        def test_sends(can0):
            can0.send(can.Message(arbitration_id=0x7DF, data=b"\\x02\\x01\\x0c", is_extended_id=False))
        """
    )
    pytester.runpytest(f"--hil-lab={lab}", "--hil-log-dir=logs", "--junitxml=report.xml").assert_outcomes(passed=1)
    import xml.etree.ElementTree as ET

    root = ET.parse(pytester.path / "report.xml").getroot()
    logs = [p.get("value") for p in root.iter("property") if p.get("name") == "hil.console_log"]
    (candump,) = [path for path in logs if path and path.endswith("b.can0.candump.log")]
    assert Path(candump).read_text().rstrip().endswith(f"{channel} 7DF#02010C")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("interface: socketcan, channel: hilnope0", r"resource can0: socketcan bus on hilnope0: "),
        ("interface: no-such-interface, channel: x", r"resource can0: no-such-interface bus on x: .*no-such-interface"),
    ],
)
def test_a_bus_that_cannot_be_opened_names_board_resource_and_cause(
    make_board: Callable[[str], Board], options: str, message: str
) -> None:
    board = make_board(f"      can0: {{driver: can, {options}}}\n")
    with pytest.raises(DriverError, match=message):
        board.resource("can0")


def test_a_failing_test_report_ends_with_its_last_frames(
    pytester: pytest.Pytester, channel: str, tmp_path: Path
) -> None:
    lab = virtual_bus_lab(tmp_path, channel)
    pytester.makepyfile(
        """
        import can

        def test_no_answer(can0):
            can0.send(can.Message(arbitration_id=0x7E0, data=b"\\x02\\x3e\\x00", is_extended_id=False))
            can0.expect_frame(0x7E8, timeout=0.2)
        """
    )
    result = pytester.runpytest(f"--hil-lab={lab}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*FrameNotSeen: board b, resource can0: no frame 7E8 within 0.2 s; 0 other frames came: none",
            "*trace b.can0.candump: last 50 lines of *",
            f"*{channel} 7E0#023E00",
        ]
    )
