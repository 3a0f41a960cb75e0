"""The board's other outputs and inputs: its status LED and boot-mode button (GPIO), its CAN node,
its HDMI output compared with reference screens, and SSH."""

from pathlib import Path

import pytest

from pytest_hil.interfaces import Can, Console, Gpio, Power, Shell, Ssh, Video

SCREENS = Path(__file__).parent / "screens"

pytestmark = pytest.mark.hil("family=simboard")


def test_the_status_led_is_steady_at_the_prompt(shell: Shell, led: Gpio) -> None:
    assert led.wait_for_active(timeout=5)
    assert led.count_edges(0.3, "both") == 0


def test_the_status_led_blinks_while_booting(power: Power, console: Console, led: Gpio) -> None:
    power.cycle(off_time=0.2)
    assert led.count_edges(0.5, "rising") >= 2
    console.expect("login: ")


def test_the_boot_mode_button_selects_recovery(power: Power, console: Console, boot_mode: Gpio) -> None:
    boot_mode.on()  # hold the button while powering on
    power.cycle(off_time=0.2)
    boot_mode.off()
    console.expect("Boot mode: recovery")
    console.expect("login: ")
    power.cycle(off_time=0.2)  # released: the next boot is a normal one
    console.expect("login: ")
    assert "Boot mode" not in console.before


def test_the_can_node_beats_and_answers_uds(shell: Shell, can0: Can) -> None:
    assert can0.expect_frame(0x701, data=b"\x05", timeout=2)  # CANopen-style heartbeat of node 1
    vin = can0.isotp_request(b"\x22\xf1\x90", tx_id=0x7E0, rx_id=0x7E8)  # ReadDataByIdentifier VIN
    assert vin[:3] == b"\x62\xf1\x90"
    assert len(vin) == 3 + 17


def test_hdmi_shows_the_login_screen(shell: Shell, hdmi: Video) -> None:
    hdmi.wait_for_match(SCREENS / "login.png", timeout=5)  # default: the blocks comparison


def test_hdmi_shows_what_the_shell_wrote(shell: Shell, hdmi: Video) -> None:
    shell.run_check("echo 'Hello from the shell' > $HIL_SCREEN")
    hdmi.wait_for_match(SCREENS / "hello.png", timeout=5)
    shell.run_check("rm $HIL_SCREEN")
    with pytest.raises(AssertionError):  # the check can fail: the login screen is not the shell's
        hdmi.assert_matches(SCREENS / "hello.png")


def test_ssh_runs_commands_and_copies_files(power: Power, ssh: Ssh, tmp_path: Path) -> None:
    result = ssh.run("uname -s; echo warning >&2; exit 2")
    assert (result.stdout, result.stderr, result.exit_code) == ("Linux\n", "warning\n", 2)
    (tmp_path / "config.txt").write_text("mode=test\n")
    ssh.put(tmp_path / "config.txt", str(tmp_path / "on-board.txt"))
    assert ssh.run(f"cat {tmp_path / 'on-board.txt'}").stdout == "mode=test\n"
