"""`tasmota-mqtt`: Tasmota plugs and relays through their MQTT broker, as the firmware's own topics
have it: `cmnd/<topic>/POWER<n>` asks (payload ON, OFF, or empty to read), `stat/<topic>/POWER<n>`
and `stat/<topic>/RESULT` answer. Every action waits for the device's answer: a device that says
otherwise, or says nothing, is an error naming the topic.

One connection per driver, kept open (paho-mqtt's network thread); a broker that restarts between
calls is connected to again, with the subscription, before the next command.
"""

from __future__ import annotations

import contextlib
import json
import queue
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from hil_drivers.power.switch import Switch
from pytest_hil.errors import DriverError, DriverUnavailable
from pytest_hil.interfaces import DriverContext
from pytest_hil.secrets import redact_urls

#: Seconds the second half of the device's answer (RESULT, then POWER<n>) is waited for.
TWIN_WAIT = 0.2
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883, "ws": 80, "wss": 443}


@dataclass(frozen=True)
class TasmotaMqttOptions:
    broker: str = field(
        metadata={
            "help": "the MQTT broker: mqtt://host[:port], mqtts:// (TLS), ws:// or wss:// (websockets, path kept)"
        }
    )
    topic: str = field(metadata={"help": "the device's topic, e.g. tasmota_5A1B2C (cmnd/<topic>/POWER<n>)"})
    relay: int = field(default=1, metadata={"help": "relay number (POWER<n>)", "min": 1, "max": 32})
    username: str | None = field(default=None, metadata={"help": "broker user"})
    password: str | None = field(default=None, metadata={"help": "broker password", "secret": True})
    timeout: float = field(
        default=5.0, metadata={"help": "seconds to wait for the broker and the device's answer", "above": 0, "max": 600}
    )

    def __post_init__(self) -> None:
        parts = urlsplit(self.broker)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(
                f"broker: {redact_urls(self.broker)!r}: write mqtt://HOST[:PORT] (or mqtts://, ws://, wss://)"
            )
        if not self.topic or any(char in self.topic for char in "/#+ "):
            raise ValueError(f"topic: {self.topic!r}: the device's topic alone (no /, #, + or spaces)")


class TasmotaMqtt(Switch[TasmotaMqttOptions]):
    """One relay of a Tasmota device, through an MQTT broker."""

    kind = "tasmota-mqtt"
    Options = TasmotaMqttOptions

    def __init__(self, options: TasmotaMqttOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            raise DriverUnavailable(f"{context}: paho-mqtt is not installed (pip install 'pytest-hil[mqtt]')") from None
        self.mqtt = mqtt
        url = urlsplit(options.broker)
        self.scheme = url.scheme
        self.host = url.hostname or ""
        self.port = url.port or DEFAULT_PORTS[url.scheme]
        self.path = url.path or "/mqtt"
        self.where = f"{self.scheme}://{self.host}:{self.port}"
        self.power_key = f"POWER{options.relay}"
        #: (where it came from: "RESULT" or "POWER", the state) for each answer the device sent
        self.answers: queue.Queue[tuple[str, str]] = queue.Queue()
        self.client: Any = None
        self.ready = threading.Event()  # connected and subscribed
        self.refused: str | None = None
        self.lock = threading.Lock()

    def describe(self) -> str:
        return f"{self.kind} {self.where} {self.options.topic} relay {self.options.relay}"

    # connection

    def _connect(self) -> None:
        mqtt = self.mqtt
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"pytest-hil-{self.context.board}-{secrets.token_hex(4)}",
            transport="websockets" if self.scheme in ("ws", "wss") else "tcp",
        )
        if self.scheme in ("ws", "wss"):
            client.ws_set_options(path=self.path)
        if self.scheme in ("mqtts", "wss"):
            client.tls_set()
        if self.options.username is not None:
            client.username_pw_set(self.options.username, self.options.password)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=0.2, max_delay=2)
        self.ready.clear()
        self.refused = None
        try:
            client.connect(self.host, self.port, keepalive=30)
        except (OSError, ValueError) as error:
            raise DriverError(
                f"{self.context}: cannot connect to the MQTT broker {self.where}: {_reason(error)}"
            ) from None
        client.loop_start()
        self.client = client
        if not self.ready.wait(self.options.timeout) or self.refused:
            refused = self.refused
            self._drop()
            if refused:
                raise DriverError(f"{self.context}: MQTT broker {self.where} refused the connection: {refused}")
            raise DriverError(
                f"{self.context}: MQTT broker {self.where}: not connected within {self.options.timeout:g} s"
            )

    def _drop(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            self.refused = str(reason)
            self.ready.set()
            client.disconnect()  # no retries with credentials the broker refuses
            return
        topic = f"stat/{self.options.topic}/"
        client.subscribe([(topic + "RESULT", 0), (topic + self.power_key, 0), (topic + "POWER", 0)])

    def _on_subscribe(self, client: Any, userdata: Any, mid: Any, reasons: Any, properties: Any) -> None:
        self.ready.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self.ready.clear()  # the network thread connects again; commands wait for it

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        name = message.topic.rsplit("/", 1)[-1]
        payload = message.payload.decode("utf-8", "replace").strip()
        if name == "RESULT":
            try:
                result = json.loads(payload)
            except ValueError:
                return
            value = result.get(self.power_key, result.get("POWER") if self.options.relay == 1 else None)
            if isinstance(value, str):
                self.answers.put(("RESULT", value.upper()))
        elif name == self.power_key or (name == "POWER" and self.options.relay == 1):
            self.answers.put(("POWER", payload.upper()))

    def _ensure_connected(self) -> None:
        if self.client is not None and self.ready.wait(self.options.timeout):
            return
        self._drop()  # never connected, or the broker went away for longer than the timeout
        self._connect()

    # switching

    def _command(self, payload: str) -> bool:
        topic = f"cmnd/{self.options.topic}/{self.power_key}"
        with self.lock:
            self._ensure_connected()
            while not self.answers.empty():
                self.answers.get_nowait()  # answers to someone else's earlier command
            self.client.publish(topic, payload, qos=0)
            try:
                source, answer = self.answers.get(timeout=self.options.timeout)
            except queue.Empty:
                raise DriverError(
                    f"{self.context}: no answer from {self.options.topic} on stat/{self.options.topic}/"
                    f"{self.power_key} within {self.options.timeout:g} s after {topic} {payload or '(read)'}"
                    f" through {self.where} (is the device online, and its topic {self.options.topic}?)"
                ) from None
            # the firmware says it twice (RESULT and POWER<n>): its twin is taken now, so that it is not
            # mistaken for the answer to the next command
            with contextlib.suppress(queue.Empty):
                twin, again = self.answers.get(timeout=TWIN_WAIT)
                if twin != source:
                    answer = again
        if answer not in ("ON", "OFF"):
            raise DriverError(f"{self.context}: {self.options.topic} answered {answer[:50]!r}, not ON or OFF")
        return answer == "ON"

    def _switch(self, on: bool) -> bool | None:
        return self._command("ON" if on else "OFF")

    def _read(self) -> bool | None:
        return self._command("")

    def close(self) -> None:
        self._drop()


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__
