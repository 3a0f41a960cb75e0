"""gpio lines on gpiozero's MockFactory: outputs over time, inputs, waits, edges, and the simulated
board's status LED and boot-mode button."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from hil_drivers.gpio.line import GpioLine
from pytest_hil.board import Board
from pytest_hil.console import StreamConsole
from pytest_hil.errors import DriverError, LabError
from pytest_hil.interfaces import Power
from pytest_hil.lab import load_lab

pytestmark = pytest.mark.usefixtures("mock_pins")  # set before the boards are made, reset after they close


def line(board: Board, name: str) -> GpioLine:
    driver = board.resource(name)
    assert isinstance(driver, GpioLine)
    return driver


def test_a_reset_line_is_held_for_the_pulse_and_released(
    make_board: Callable[[str], Board], mock_pins: MockFactory
) -> None:
    board = make_board("      reset: {driver: gpio, pin: GPIO17, active_high: false, pin_factory: mock}\n")
    reset = line(board, "reset")
    pin = mock_pins.pin(17)
    assert pin.state is True  # inactive = high for an active-low line
    pin.clear_states()
    reset.pulse(0.05)
    pin.assert_states_and_times([(0.0, True), (0.0, False), (0.05, True)])  # low for 50 ms, then high again
    reset.on()
    assert (reset.value, pin.state) == (1, False)
    assert "[hil] gpio GPIO17 pulse 50 ms" in board.logs.logs["console"].recent_lines()


def test_an_input_waits_and_counts_edges(make_board: Callable[[str], Board], mock_pins: MockFactory) -> None:
    board = make_board("      ready: {driver: gpio, pin: '22', direction: input, pin_factory: mock}\n")
    ready = line(board, "ready")
    pin = mock_pins.pin(22)
    assert ready.value == 0 and ready.wait_for_active(timeout=0.1) is False
    import threading

    threading.Timer(0.1, pin.drive_high).start()
    assert ready.wait_for_active(timeout=5) is True and ready.value == 1

    def blink() -> None:
        for _ in range(5):
            time.sleep(0.02)
            pin.drive_low()
            time.sleep(0.02)
            pin.drive_high()

    threading.Timer(0.05, blink).start()
    assert ready.count_edges(0.6, "falling") == 5
    with pytest.raises(DriverError, match=r"resource ready: pin 22 is an input: it cannot be driven \(on\)"):
        ready.on()


def test_a_pin_that_does_not_exist_names_board_resource_and_pin(make_board: Callable[[str], Board]) -> None:
    board = make_board("      line: {driver: gpio, pin: GPIO99, pin_factory: mock}\n")
    with pytest.raises(DriverError, match=r"board b, resource line: pin GPIO99: "):
        board.resource("line")


def test_bad_direction_is_a_lab_file_error(write_lab: Callable[..., Path]) -> None:
    path = write_lab(
        "version: 1\nboards:\n  b:\n    resources:\n      line: {driver: gpio, pin: '4', direction: sideways}\n"
    )
    with pytest.raises(LabError, match=rf"{path}:5: boards.b.resources.line.direction: "):
        load_lab(path)


SIM = """\
      power: {driver: sim-power, boot_time: 0.6, led_pin: GPIO5, boot_mode_pin: GPIO6}
      console: {driver: sim-console, timeout: 5}
      led: {driver: gpio, pin: GPIO5, direction: input, pin_factory: mock}
      boot_mode: {driver: gpio, pin: GPIO6, pin_factory: mock}
"""


def test_the_sim_board_led_blinks_while_booting_and_stays_on_at_the_login(make_board: Callable[[str], Board]) -> None:
    board = make_board(SIM)
    power, console, led = board.power, board.console, line(board, "led")
    assert isinstance(power, Power) and isinstance(console, StreamConsole)
    assert led.value == 0
    power.on()
    assert led.count_edges(0.4, "rising") >= 2  # blinking while the boot log scrolls
    console.expect("login: ")
    time.sleep(0.3)
    assert led.value == 1 and led.count_edges(0.3, "both") == 0  # steady at the prompt
    power.off()
    assert led.wait_for_inactive(timeout=2) is True


def test_the_boot_mode_button_held_at_power_on_boots_recovery(make_board: Callable[[str], Board]) -> None:
    board = make_board(SIM)
    power, console = board.power, board.console
    assert isinstance(power, Power) and isinstance(console, StreamConsole)
    line(board, "boot_mode").on()  # hold the button
    power.on()
    console.expect("login: ")
    assert "Boot mode: recovery (button held at power-on)" in console.before
    power.off()
    line(board, "boot_mode").off()
    power.on()
    console.expect("login: ")
    assert "Boot mode" not in console.before


def test_a_wait_sees_a_pulse_of_one_millisecond(make_board: Callable[[str], Board], mock_pins: MockFactory) -> None:
    import threading

    board = make_board("      irq: {driver: gpio, pin: '23', direction: input, pin_factory: mock}\n")
    irq = line(board, "irq")
    pin = mock_pins.pin(23)

    def pulse() -> None:
        pin.drive_high()
        time.sleep(0.001)
        pin.drive_low()

    for _ in range(20):  # a 2 ms poll would miss most of them
        timer = threading.Timer(0.01, pulse)
        timer.start()
        assert irq.wait_for_active(timeout=2) is True
        timer.join()
        assert irq.wait_for_inactive(timeout=2) is True
