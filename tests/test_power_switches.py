"""Power drivers against real HTTP servers on loopback and real scripts."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_hil.board import Board
from pytest_hil.console.log import BoardLogs
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import Power
from pytest_hil.lab import load_lab
from tests.conftest import power_option_errors
from tests.fake_switches import FakeSwitch, serving

MakePower = Callable[[str], tuple[Power, Board]]


@pytest.fixture
def tasmota() -> Iterator[tuple[FakeSwitch, str]]:
    with serving("tasmota") as device:
        yield device


def test_tasmota_switches_and_reads_back(make_power: MakePower, tasmota: tuple[FakeSwitch, str]) -> None:
    switch, url = tasmota
    power, _ = make_power(f"driver: tasmota, url: '{url}'")
    power.on()
    assert switch.on is True and power.state() is True
    power.cycle(off_time=0.05)
    assert switch.on is True
    assert switch.requests == [
        "GET /cm?cmnd=Power1+On", "GET /cm?cmnd=Power1", "GET /cm?cmnd=Power1+Off", "GET /cm?cmnd=Power1+On",
    ]  # fmt: skip


def test_tasmota_sends_its_credentials(make_power: MakePower, tasmota: tuple[FakeSwitch, str]) -> None:
    switch, url = tasmota
    power, _ = make_power(f"driver: tasmota, url: '{url}', username: admin, password: s3")
    power.off()
    assert switch.requests == ["GET /cm?cmnd=Power1+Off&user=admin&password=s3"]


@pytest.mark.parametrize("gen", [1, 2])
def test_shelly_both_generations(make_power: MakePower, gen: int) -> None:
    with serving(f"shelly{gen}") as (switch, url):
        power, _ = make_power(f"driver: shelly, gen: {gen}, url: '{url}'")
        power.on()
        assert switch.on is True and power.state() is True
        power.off()
        assert switch.on is False and power.state() is False
        first = "GET /relay/0?turn=on" if gen == 1 else "GET /rpc/Switch.Set?id=0&on=true"
        assert switch.requests[0] == first


def test_http_power_with_url_templates_and_state_parsing(make_power: MakePower) -> None:
    with serving("relay") as (switch, url):
        power, _ = make_power(
            f"driver: http-power, url: '{url}/api/relay/3', state_url: '{{url}}', expect: '^OK$', "
            'state_on: \'"state": "on"\', state_off: \'"state": "off"\''
        )
        power.on()
        assert switch.on is True and power.state() is True
        power.off()
        assert switch.requests == ["POST /api/relay/3/on", "GET /api/relay/3", "GET /api/relay/3",
                                   "POST /api/relay/3/off", "GET /api/relay/3"]  # fmt: skip


def test_transient_500s_are_retried(make_power: MakePower, tasmota: tuple[FakeSwitch, str]) -> None:
    switch, url = tasmota
    switch.fail_next = 2
    power, _ = make_power(f"driver: tasmota, url: '{url}', retries: 2, backoff: 0.01")
    power.on()
    assert switch.on is True
    assert len(switch.requests) == 3  # two 500s, then the switch (whose answer carries the state)


def test_persistent_500s_fail_naming_url_and_answer(make_power: MakePower, tasmota: tuple[FakeSwitch, str]) -> None:
    switch, url = tasmota
    switch.fail_next = 99
    power, _ = make_power(f"driver: tasmota, url: '{url}', retries: 1, backoff: 0.01")
    with pytest.raises(
        DriverError,
        match=rf"board b1, resource power: GET {url}/cm: the switch answered 500 'internal error' \(2 tries\)",
    ):
        power.on()


def test_a_switch_that_hangs_times_out(make_power: MakePower, tasmota: tuple[FakeSwitch, str]) -> None:
    switch, url = tasmota
    switch.hang = 2
    power, _ = make_power(f"driver: tasmota, url: '{url}', timeout: 0.2, retries: 0")
    started = time.monotonic()
    with pytest.raises(DriverError, match=rf"GET {url}/cm: no answer within 0.2 s \(1 try\)"):
        power.on()
    assert time.monotonic() - started < 1.5


def test_a_refused_connection_names_the_url(make_power: MakePower) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    power, _ = make_power(f"driver: shelly, url: '{url}', retries: 1, backoff: 0.01")
    with pytest.raises(
        DriverError,
        match=rf"board b1, resource power: GET {url}/rpc/Switch.Set: cannot connect \(connection refused\) \(2 tries\)",
    ):
        power.on()


def test_a_switch_reporting_the_wrong_state_is_an_error(make_power: MakePower, tasmota: tuple[FakeSwitch, str]) -> None:
    switch, url = tasmota
    switch.liar = True
    power, _ = make_power(f"driver: tasmota, url: '{url}'")
    with pytest.raises(DriverError, match=rf"switched on, but tasmota {url} relay 1 reports off"):
        power.on()


def test_an_unexpected_body_is_an_error(make_power: MakePower) -> None:
    with serving("relay") as (_, url):
        power, _ = make_power(f"driver: http-power, url: '{url}/api/relay/3', expect: '^DONE$'")
        with pytest.raises(DriverError, match=r"the answer 'OK' does not match expect '\^DONE\$'"):
            power.on()
        shelly, _ = make_power(f"driver: shelly, gen: 1, url: '{url}', retries: 0")
        with pytest.raises(DriverError, match=r"GET .*/relay/0: the switch answered 404 'no such relay'"):
            shelly.on()


def test_every_power_action_lands_in_the_console_log(
    make_power: MakePower, tasmota: tuple[FakeSwitch, str], tmp_path: Path
) -> None:
    _, url = tasmota
    power, board = make_power(f"driver: tasmota, url: '{url}'")
    log = board.logs.console("console")  # a console log of the board, as a console driver would have
    board.logs.start_test(tmp_path / "t")
    power.off()
    board.logs.end_test()
    assert f"[hil] power off (tasmota {url} relay 1)" in (tmp_path / "t" / "b1.console.log").read_text()
    assert log.session is not None


def test_command_power_runs_real_scripts(make_power: MakePower, tmp_path: Path) -> None:
    script = tmp_path / "relay.sh"
    script.write_text('#!/bin/sh\ncase "$1" in\n  on|off) echo "$1" > state ;;\n  state) cat state ;;\nesac\n')
    script.chmod(0o755)
    power, _ = make_power(
        "driver: command-power, on: './relay.sh on', off: './relay.sh off', state: './relay.sh state'"
    )
    power.on()
    assert (tmp_path / "state").read_text() == "on\n" and power.state() is True
    power.off()
    assert power.state() is False


def test_command_power_failures_name_the_command(make_power: MakePower) -> None:
    power, _ = make_power("driver: command-power, on: 'echo relay jammed >&2; exit 3', off: 'sleep 5', timeout: 0.3")
    with pytest.raises(
        DriverError,
        match=r"board b1, resource power: on command 'echo relay jammed >&2; exit 3' exited with 3: relay jammed",
    ):
        power.on()
    with pytest.raises(DriverError, match=r"off command 'sleep 5' did not finish within 0.3 s"):
        power.off()


def test_a_list_of_switches_goes_on_in_order_and_off_in_reverse(tmp_path: Path) -> None:
    with serving("tasmota") as (mains, mains_url), serving("shelly1") as (usb, usb_url):
        (tmp_path / "lab.yaml").write_text(
            f"version: 1\nboards:\n  b1:\n    resources:\n      power:\n        - {{driver: tasmota, url: '{mains_url}'}}\n"
            f"        - {{driver: shelly, gen: 1, url: '{usb_url}'}}\n"
        )
        board = Board(load_lab(tmp_path / "lab.yaml").boards["b1"], tmp_path, BoardLogs("b1"))
        power = board.power
        assert isinstance(power, Power)
        board.logs.console("console")
        board.logs.start_test(tmp_path / "t")
        power.on()
        assert mains.on and usb.on and power.state() is True
        power.off()
        board.logs.end_test()
        assert not mains.on and not usb.on and power.state() is False
        board.close()
        notes = [
            line for line in (tmp_path / "t" / "b1.console.log").read_text().splitlines() if line.startswith("[hil]")
        ]
        assert notes == [
            f"[hil] power on (tasmota {mains_url} relay 1)",
            f"[hil] power on (shelly gen1 {usb_url} relay 0)",
            f"[hil] power off (shelly gen1 {usb_url} relay 0)",
            f"[hil] power off (tasmota {mains_url} relay 1)",
        ]


def test_a_list_of_switches_is_checked_item_by_item(tmp_path: Path) -> None:
    from pytest_hil.errors import LabError

    (tmp_path / "lab.yaml").write_text(
        "version: 1\nboards:\n  b:\n    resources:\n      power:\n        - {driver: tasmota}\n        - {driver: sim-console}\n"
    )
    with pytest.raises(LabError) as raised:
        load_lab(tmp_path / "lab.yaml")
    assert [str(issue) for issue in raised.value.issues] == [
        f"{tmp_path}/lab.yaml:6: boards.b.resources.power[0]: missing required option 'url' (string)",
        f"{tmp_path}/lab.yaml:7: boards.b.resources.power[1]: a resource called 'power' must be a power driver; sim-console offers console",
    ]


def test_gpio_power_drives_an_active_low_relay(make_power: MakePower, mock_pins: object) -> None:
    power, _ = make_power("driver: gpio-power, pin: GPIO17, active_high: false, initial: 'off', pin_factory: mock")
    pin = mock_pins.pin(17)  # type: ignore[attr-defined]
    assert pin.state is True  # off, for an active-low relay, is a high line
    power.on()
    assert pin.state is False and power.state() is True
    power.cycle(off_time=0.1)
    assert [state.state for state in pin.states] == [False, True, False, True, False]
    off_times = [state.timestamp for state in pin.states]
    assert off_times[-1] - off_times[-2] >= 0.1  # the line stayed high (off) for the cycle's off time


def test_gpio_power_keeps_the_line_by_default(make_power: MakePower, mock_pins: object) -> None:
    pin = mock_pins.pin(22)  # type: ignore[attr-defined]
    pin.drive_high()
    power, _ = make_power("driver: gpio-power, pin: '22', pin_factory: mock")
    assert power.state() is True


def test_gpio_power_on_a_pin_that_does_not_exist(make_power: MakePower, mock_pins: object) -> None:
    with pytest.raises(DriverError, match=r"board b1, resource power: pin GPIO99: GPIO99 is not a valid pin name"):
        make_power("driver: gpio-power, pin: GPIO99, pin_factory: mock")


@pytest.fixture
def energenie() -> Iterator[tuple[FakeSwitch, str]]:
    with serving("energenie") as device:
        yield device


def test_energenie_logs_in_switches_its_socket_and_logs_out(
    make_power: MakePower, energenie: tuple[FakeSwitch, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    strip, url = energenie
    monkeypatch.setenv("STRIP_PW", strip.password)
    power, board = make_power(
        f'driver: energenie, host: "{url.removeprefix("http://")}", password: "${{STRIP_PW}}", socket: 3'
    )
    power.on()
    assert strip.sockets == [False, False, True, False] and power.state() is True
    power.off()
    assert strip.sockets == [False] * 4 and power.state() is False
    assert not strip.logged_in  # the strip's one web session is given back after every action
    assert strip.requests[:3] == ["POST /login.html", "POST /", "GET /login.html"]
    assert any("[hil] power on (energenie http://127.0.0.1:" in note for note in board.logs.notes)


def test_energenie_with_a_wrong_password_says_so_and_leaves_the_socket(
    make_power: MakePower, energenie: tuple[FakeSwitch, str]
) -> None:
    strip, url = energenie
    power, _ = make_power(f'driver: energenie, host: "{url.removeprefix("http://")}", password: "wrong-one", socket: 2')
    with pytest.raises(
        DriverError,
        match=r"board b1, resource power: http://127.0.0.1:\d+: wrong password \(the strip answered its login page\)$",
    ) as failure:
        power.on()
    assert "wrong-one" not in str(failure.value)
    assert strip.sockets == [False] * 4 and "POST /" not in strip.requests


def test_energenie_that_ignores_the_switch_is_an_error(
    make_power: MakePower, energenie: tuple[FakeSwitch, str]
) -> None:
    strip, url = energenie
    strip.liar = True
    power, _ = make_power(
        f'driver: energenie, host: "{url.removeprefix("http://")}", password: "{strip.password}", socket: 1'
    )
    with pytest.raises(DriverError, match=r"switched on, but energenie http://127.0.0.1:\d+ socket 1 reports off"):
        power.on()


def test_energenie_options_are_checked(tmp_path: Path) -> None:
    for options, said in (
        ("host: 10.0.0.30, socket: 5", "socket: must be at most 4, got 5"),
        ("host: 'http://x/'", "host: 'http://x/': the strip's host name or address (host or host:port), no URL"),
    ):
        err = power_option_errors(tmp_path, f"driver: energenie, {options}")
        assert err == f"{tmp_path / 'lab.yaml'}:5: boards.b1.resources.power.{said}\n"
