"""The simulated board's firmware: boots, asks for a login, then runs a real shell on its console.

Run as `python -S firmware.py CONFIG_JSON` with the console tty as stdin, stdout and
stderr, in a new session; it makes that tty its controlling terminal, so Ctrl-C reaches commands the
way it does on a board. Imports only the standard library: it starts on every power-on.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import termios
import threading
import time

BOOT_LOG = (
    "U-Boot 2024.01-hil (simulated board {hostname})",
    "DRAM:  512 MiB",
    "Hit any key to stop autoboot:  0",
    "Starting kernel ...",
    "[    0.000000] Booting Linux on physical CPU 0x0",
    "[    0.000000] Linux version 6.1.0-hil-sim (pytest-hil simulated lab)",
    "[    0.124000] Serial: 8250/16550 driver, 4 ports",
    "[    0.530000] Run /sbin/init as init process",
    "Starting syslogd: OK",
    "Welcome to {hostname}",
)


def write(text: str) -> None:
    os.write(1, text.encode())


def read_line() -> str | None:
    """One line typed on the console; None when the line discipline reports end of input."""
    data = os.read(0, 4096)
    if not data:
        return None
    return data.decode(errors="replace").strip("\r\n")


def load_medium(path: str) -> dict[str, str] | None:
    """Read the SD card's image as the boot loader does: its name (the card's label) and sha256.
    None when the card holds no image: the board does not boot."""
    try:
        with open(path, "rb") as card:
            digest = hashlib.sha256()
            while chunk := card.read(1 << 20):
                digest.update(chunk)
            size = card.tell()
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    try:
        with open(path + ".label") as label:
            name = label.read().strip()
    except FileNotFoundError:
        name = os.path.basename(path)
    return {"name": name, "sha256": digest.hexdigest(), "size": str(size)}


def report(config: dict[str, object], state: str) -> None:
    """Tell the board's hardware what the firmware is doing (it drives the status LED)."""
    os.write(int(config["status_fd"]), f"{state}\n".encode())  # type: ignore[call-overload]


def boot(config: dict[str, object]) -> dict[str, str] | None:
    """Print the boot log; with an SD card, boot its image (None: there is nothing to boot)."""
    lines = [line.format(**config) for line in BOOT_LOG]
    if config["boot_mode"] == "recovery":
        lines.insert(2, "Boot mode: recovery (button held at power-on)")
    pause = float(config["boot_time"]) / len(lines)  # type: ignore[arg-type]
    image = None
    for line in lines:
        time.sleep(pause)
        write(line + "\n")
        if line.startswith("DRAM") and config["medium"]:
            image = load_medium(str(config["medium"]))
            if image is None:
                write("MMC: no bootable image on SD card\n")
                return None
            write(f"MMC: booting {image['name']} ({image['size']} bytes, sha256 {image['sha256']})\n")
    return image


def ask_password() -> str | None:
    attributes = termios.tcgetattr(0)
    quiet = list(attributes)
    quiet[3] &= ~termios.ECHO
    termios.tcsetattr(0, termios.TCSANOW, quiet)
    try:
        write("Password: ")
        return read_line()
    finally:
        termios.tcsetattr(0, termios.TCSANOW, attributes)
        write("\n")


def login(config: dict[str, object]) -> bool:
    write(f"\n{config['hostname']} login: ")
    user = read_line()
    if not user:
        return False
    password = ask_password() if config["password"] is not None else None
    if user != config["username"] or password != config["password"]:
        time.sleep(0.2)
        write("Login incorrect\n")
        return False
    return True


def run_shell(config: dict[str, object], image: dict[str, str] | None) -> None:
    home = str(config["home"])
    environment = {
        "HOME": home,
        "USER": str(config["username"]),
        "LOGNAME": str(config["username"]),
        "SHELL": "/bin/sh",
        "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "TERM": "vt100",
        "PS1": str(config["prompt"]),
        "HIL_SCREEN": str(config["screen"]),  # text written here shows on the board's display
    }
    if image is not None:  # what the running system knows of the image it booted
        environment.update(HIL_BOOT_IMAGE=image["name"], HIL_BOOT_SHA256=image["sha256"])
    environment["PATH"] = f"{_board_tools(home)}:{environment['PATH']}"
    write("Last login: on ttyS0\n")
    # +m: no job control, so the shell and its commands stay in the firmware's process group and
    # power-off (a kill of that group) takes them all, as cutting the supply would.
    subprocess.call(["/bin/sh", "+m", "-i"], cwd=home, env=environment)


#: The console log level, as `dmesg -n LEVEL` sets it on a Linux board: kernel lines go to the
#: console only while it is above 4 (their level here). Kept in a file of the board's home.
LOGLEVEL_FILE = ".console-loglevel"


def _board_tools(home: str) -> str:
    """A folder with the board's own `dmesg`: `dmesg -n LEVEL` sets the simulated console log level
    (the host's kernel is never touched); other uses print the kernel lines so far."""
    folder = os.path.join(home, ".board-bin")
    os.makedirs(folder, exist_ok=True)
    script = os.path.join(folder, "dmesg")
    with open(script, "w") as file:
        file.write(
            "#!/bin/sh\n"
            f'if [ "$1" = -n ] && [ -n "$2" ]; then echo "$2" > "$HOME/{LOGLEVEL_FILE}"; exit 0; fi\n'
            "echo '[    0.000000] Booting Linux on physical CPU 0x0'\n"
        )
    os.chmod(script, 0o755)
    return folder


def kernel_messages(interval: float, home: str) -> None:
    """Print kernel-style lines at random moments, as a real kernel does into a busy console, while
    the console log level lets them through (`dmesg -n 1` quiets them)."""
    started = time.monotonic()
    count = 0
    level_file = os.path.join(home, LOGLEVEL_FILE)
    while True:
        time.sleep(interval)
        count += 1
        try:
            with open(level_file) as file:
                level = int(file.read().strip() or 7)
        except (OSError, ValueError):
            level = 7
        if level > 4:
            write(f"[{time.monotonic() - started:12.6f}] hil-sim: heartbeat {count}\n")


def main() -> None:
    with os.fdopen(int(sys.argv[1]), "rb") as settings:  # a pipe: the password stays off the command line
        config = json.loads(settings.read())
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    signal.signal(signal.SIGINT, lambda *_: None)  # Ctrl-C is for the shell's commands
    report(config, "booting")
    image = boot(config)
    if config["medium"] and image is None:
        while True:  # a board with an empty card hangs in its boot loader
            time.sleep(3600)
    if config["kernel_messages"]:
        messages = threading.Thread(target=kernel_messages, args=(config["kernel_messages"], config["home"]))
        messages.daemon = True
        messages.start()
    while True:
        report(config, "ready")
        if login(config):
            run_shell(config, image)


if __name__ == "__main__":
    main()
