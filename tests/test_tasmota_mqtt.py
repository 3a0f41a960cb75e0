"""tasmota-mqtt against a real mosquitto broker and a simulated Tasmota device on it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_hil.board import Board
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import Power
from tests.conftest import power_option_errors
from tests.mqtt_lab import PASSWORD, USER, Broker, FakeTasmota, free_port, mosquitto

MakePower = Callable[..., tuple[Power, Board]]


@pytest.fixture
def plug_power(make_power: Callable[[str], tuple[Power, Board]], monkeypatch: pytest.MonkeyPatch) -> MakePower:
    """A tasmota-mqtt relay of `topic` through `broker`, with the broker's credentials."""
    monkeypatch.setenv("BROKER_PW", PASSWORD)

    def make(broker: str, topic: str, extra: str = "", password: str = '"${BROKER_PW}"') -> tuple[Power, Board]:
        return make_power(
            f'driver: tasmota-mqtt, broker: "{broker}", topic: {topic}, username: {USER}, password: {password}{extra}'
        )

    return make


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    try:
        with mosquitto(tmp_path) as started:
            yield started
    except RuntimeError as error:
        if "not installed" in str(error):
            pytest.skip(str(error))
        raise


def test_switches_a_one_relay_plug_and_reads_it(broker: Broker, plug_power: MakePower) -> None:
    plug = FakeTasmota(broker, "tasmota_5A1B2C")
    power, board = plug_power(broker.url, "tasmota_5A1B2C")
    power.on()
    assert plug.relays == [True] and power.state() is True
    power.off()
    assert plug.relays == [False] and power.state() is False
    assert plug.commands == [("POWER1", "ON"), ("POWER1", ""), ("POWER1", "OFF"), ("POWER1", "")]
    assert any("[hil] power on (tasmota-mqtt mqtt://127.0.0.1:" in note for note in board.logs.notes)
    plug.close()


def test_the_second_relay_of_a_four_relay_board_over_websockets(broker: Broker, plug_power: MakePower) -> None:
    board4 = FakeTasmota(broker, "relays4", relays=4)
    power, _ = plug_power(f"ws://127.0.0.1:{broker.ws_port}", "relays4", ", relay: 2")
    power.on()
    assert board4.relays == [False, True, False, False] and power.state() is True
    board4.close()


def test_a_device_that_never_answers_fails_naming_the_topic(broker: Broker, plug_power: MakePower) -> None:
    plug = FakeTasmota(broker, "tasmota_silent")
    plug.silent = True
    power, _ = plug_power(broker.url, "tasmota_silent", ", timeout: 0.5")
    started = time.monotonic()
    with pytest.raises(
        DriverError,
        match=r"no answer from tasmota_silent on stat/tasmota_silent/POWER1 within 0.5 s after cmnd/tasmota_silent/POWER1 ON",
    ):
        power.on()
    assert time.monotonic() - started < 5
    plug.close()


def test_a_device_that_does_not_switch_is_an_error(broker: Broker, plug_power: MakePower) -> None:
    plug = FakeTasmota(broker, "tasmota_stuck")
    plug.liar = True
    power, _ = plug_power(broker.url, "tasmota_stuck")
    with pytest.raises(
        DriverError, match=r"switched on, but tasmota-mqtt mqtt://127.0.0.1:\d+ tasmota_stuck relay 1 reports off"
    ):
        power.on()
    plug.close()


def test_a_broker_refusing_the_credentials_is_one_line_without_the_password(
    broker: Broker, plug_power: MakePower
) -> None:
    power, _ = plug_power(broker.url, "tasmota_x", password='"not-the-password-1"')
    with pytest.raises(DriverError) as failure:
        power.on()
    text = str(failure.value)
    assert text.startswith(
        f"board b1, resource power: MQTT broker mqtt://127.0.0.1:{broker.port} refused the connection: "
    )
    assert "Not authorized" in text or "Bad user name or password" in text
    assert "not-the-password-1" not in text and "\n" not in text


def test_an_unreachable_broker_is_one_line(plug_power: MakePower) -> None:
    port = free_port()
    power, _ = plug_power(f"mqtt://127.0.0.1:{port}", "tasmota_x")
    with pytest.raises(
        DriverError, match=rf"cannot connect to the MQTT broker mqtt://127.0.0.1:{port}: Connection refused$"
    ):
        power.on()


def test_a_broker_restart_between_calls_is_survived(broker: Broker, plug_power: MakePower) -> None:
    plug = FakeTasmota(broker, "tasmota_restart")
    power, _ = plug_power(broker.url, "tasmota_restart")
    power.on()
    broker.stop()
    broker.start()  # same port; the plug's client and ours both connect again
    deadline = time.monotonic() + 10
    while not plug.client.is_connected() and time.monotonic() < deadline:
        time.sleep(0.05)
    power.off()
    assert plug.relays == [False] and power.state() is False
    plug.close()


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ('broker: "http://x", topic: t', "broker: 'http://x': write mqtt://HOST[:PORT] (or mqtts://, ws://, wss://)"),
        ('broker: "mqtt://x", topic: "a/b"', "topic: 'a/b': the device's topic alone (no /, #, + or spaces)"),
        ('broker: "mqtt://x", topic: t, relay: 0', "relay: must be at least 1, got 0"),
    ],
)
def test_bad_options_are_lab_errors(tmp_path: Path, options: str, said: str) -> None:
    err = power_option_errors(tmp_path, f"driver: tasmota-mqtt, {options}")
    assert err.startswith(f"{tmp_path / 'lab.yaml'}:5: boards.b1.resources.power.") and said in err
