"""Power switches: HTTP relays, Tasmota (HTTP or MQTT) and Shelly plugs, EnerGenie strips, SNMP PDUs,
commands on the host, GPIO relays."""

from __future__ import annotations

from collections.abc import Sequence

from hil_drivers.power.command import CommandPower
from hil_drivers.power.energenie import Energenie
from hil_drivers.power.gpio_relay import GpioPower
from hil_drivers.power.http_relay import HttpPower
from hil_drivers.power.shelly import Shelly
from hil_drivers.power.snmp import SnmpPower
from hil_drivers.power.tasmota import Tasmota
from hil_drivers.power.tasmota_mqtt import TasmotaMqtt
from pytest_hil import hookimpl
from pytest_hil.interfaces import Driver


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    return [HttpPower, Tasmota, TasmotaMqtt, Shelly, Energenie, SnmpPower, CommandPower, GpioPower]
