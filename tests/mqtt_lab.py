"""A real mosquitto broker on loopback (password file, an MQTT and a websockets listener) and a
simulated Tasmota device: a paho client answering on the firmware's topics as the firmware does."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

USER, PASSWORD = "lab", "broker-secret-42"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Broker:
    folder: Path
    port: int = field(default_factory=free_port)
    ws_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = self.folder / "mosquitto.conf"
        passwords = self.folder / "passwords"
        if not passwords.exists():
            subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), USER, PASSWORD], check=True)
            passwords.chmod(0o600)
        config.write_text(  # as the user running the tests (as root mosquitto would switch to its own)
            f"user {getpass.getuser()}\nper_listener_settings false\nallow_anonymous false\npassword_file {passwords}\n"
            f"listener {self.port} 127.0.0.1\nlistener {self.ws_port} 127.0.0.1\nprotocol websockets\n"
        )
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited: {self.process.stderr.read().decode() if self.process.stderr else ''}"
                )
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening within 10 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def mosquitto(folder: Path) -> Iterator[Broker]:
    if shutil.which("mosquitto") is None:
        raise RuntimeError("mosquitto is not installed (.ci/stand-ins installs it)")
    broker = Broker(folder)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


class FakeTasmota:
    """A device with `relays` relays on `topic`: ON/OFF/TOGGLE/empty on cmnd/<topic>/POWER<n> are
    answered on stat/<topic>/RESULT and stat/<topic>/POWER<n> (POWER for a one-relay device)."""

    def __init__(self, broker: Broker, topic: str, relays: int = 1) -> None:
        import paho.mqtt.client as mqtt

        self.topic = topic
        self.relays = [False] * relays
        self.silent = False  # the device is offline (or its topic is another)
        self.liar = False  # switching does nothing
        self.commands: list[tuple[str, str]] = []
        self.connected = threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"fake-{topic}")
        client.username_pw_set(USER, PASSWORD)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        self.client = client
        if not self.connected.wait(10):
            raise RuntimeError("the fake Tasmota did not connect")

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        client.subscribe(f"cmnd/{self.topic}/#")
        self.connected.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        command = message.topic.rsplit("/", 1)[-1].upper()
        payload = message.payload.decode().strip().upper()
        self.commands.append((command, payload))
        if self.silent or not command.startswith("POWER"):
            return
        index = int(command[5:] or "1") - 1
        if not 0 <= index < len(self.relays):
            return
        if not self.liar and payload in ("ON", "1"):
            self.relays[index] = True
        elif not self.liar and payload in ("OFF", "0"):
            self.relays[index] = False
        elif not self.liar and payload in ("TOGGLE", "2"):
            self.relays[index] = not self.relays[index]
        key = "POWER" if len(self.relays) == 1 else f"POWER{index + 1}"
        state = "ON" if self.relays[index] else "OFF"
        client.publish(f"stat/{self.topic}/RESULT", f'{{"{key}":"{state}"}}')
        client.publish(f"stat/{self.topic}/{key}", state)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
