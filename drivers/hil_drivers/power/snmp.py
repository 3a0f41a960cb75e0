"""`snmp-power`: network PDUs switched by SNMP SET on an outlet's OID and read back by GET (APC's
PowerNet-MIB `sPDUOutletCtl` by default: 1 on, 2 off), over SNMP v2c or v3 (auth and privacy).

pysnmp 7 speaks asyncio; each action runs its own short event loop and SNMP engine, so the driver
stays a plain synchronous switch that any thread may use.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from hil_drivers.power.switch import Switch
from pytest_hil.errors import DriverError, DriverUnavailable
from pytest_hil.interfaces import DriverContext

#: APC PowerNet-MIB sPDUOutletCtl: .<outlet> is 1 (on), 2 (off), 3 (reboot).
APC_OUTLET_CONTROL = "1.3.6.1.4.1.318.1.1.4.4.2.1.3"
OID = re.compile(r"\.?\d+(\.\d+)+")
#: What an engine's error means for the person reading it.
HINTS = {
    "wrongDigest": "wrong auth_key or auth_protocol",
    "decryptionError": "wrong priv_key or priv_protocol",
    "unknownUserName": "the agent has no such user",
    "unsupportedSecLevel": "the agent's user has another security level (auth_protocol, priv_protocol)",
}


@dataclass(frozen=True)
class SnmpPowerOptions:
    host: str = field(metadata={"help": "the PDU's address"})
    outlet: int = field(metadata={"help": "outlet number (the last part of its OID)", "min": 1})
    port: int = field(default=161, metadata={"help": "UDP port", "min": 1, "max": 65535})
    version: Literal["2c", "3"] = field(default="2c", metadata={"help": "SNMP version"})
    community: str = field(default="private", metadata={"help": "v2c community with write access", "secret": True})
    user: str | None = field(default=None, metadata={"help": "v3 user"})
    auth_protocol: Literal["none", "md5", "sha", "sha256"] = field(default="none", metadata={"help": "v3 auth"})
    auth_key: str | None = field(default=None, metadata={"help": "v3 auth pass phrase", "secret": True})
    priv_protocol: Literal["none", "des", "aes"] = field(default="none", metadata={"help": "v3 privacy"})
    priv_key: str | None = field(default=None, metadata={"help": "v3 privacy pass phrase", "secret": True})
    oid: str = field(default=APC_OUTLET_CONTROL, metadata={"help": "the outlet table's OID (outlet appended)"})
    on_value: int = field(default=1, metadata={"help": "value that switches on (and reads as on)"})
    off_value: int = field(default=2, metadata={"help": "value that switches off (and reads as off)"})
    timeout: float = field(default=2.0, metadata={"help": "seconds per try", "above": 0, "max": 600})
    retries: int = field(default=1, metadata={"help": "extra tries", "min": 0, "max": 20})

    def __post_init__(self) -> None:
        if not OID.fullmatch(self.oid):
            raise ValueError(f"oid: {self.oid!r}: a numeric OID, e.g. {APC_OUTLET_CONTROL}")
        if self.on_value == self.off_value:
            raise ValueError("off_value: must differ from on_value")
        if self.version == "3":
            if not self.user:
                raise ValueError("user: SNMP v3 needs a user")
            if (self.auth_protocol == "none") != (self.auth_key is None):
                raise ValueError("auth_key: give auth_protocol and auth_key together")
            if (self.priv_protocol == "none") != (self.priv_key is None):
                raise ValueError("priv_key: give priv_protocol and priv_key together")
            if self.priv_protocol != "none" and self.auth_protocol == "none":
                raise ValueError("priv_protocol: privacy needs auth_protocol too")
            for name in ("auth_key", "priv_key"):
                key = getattr(self, name)
                if key is not None and len(key) < 8:
                    raise ValueError(f"{name}: SNMP v3 pass phrases have at least 8 characters")


class SnmpPower(Switch[SnmpPowerOptions]):
    """One outlet of an SNMP-managed PDU."""

    kind = "snmp-power"
    Options = SnmpPowerOptions

    def __init__(self, options: SnmpPowerOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        try:
            from pysnmp.hlapi.v3arch import asyncio as hlapi
        except ImportError:
            raise DriverUnavailable(f"{context}: pysnmp is not installed (pip install 'pytest-hil[snmp]')") from None
        self.hlapi = hlapi
        self.target_oid = f"{options.oid.lstrip('.')}.{options.outlet}"
        self.where = f"{options.host}:{options.port}"

    def describe(self) -> str:
        return f"{self.kind} {self.where} outlet {self.options.outlet} (v{self.options.version})"

    def _credentials(self) -> Any:
        hlapi, options = self.hlapi, self.options
        if options.version == "2c":
            return hlapi.CommunityData(options.community, mpModel=1)
        auth = {
            "none": hlapi.usmNoAuthProtocol,
            "md5": hlapi.usmHMACMD5AuthProtocol,
            "sha": hlapi.usmHMACSHAAuthProtocol,
            "sha256": hlapi.usmHMAC192SHA256AuthProtocol,
        }[options.auth_protocol]
        priv = {"none": hlapi.usmNoPrivProtocol, "des": hlapi.usmDESPrivProtocol, "aes": hlapi.usmAesCfb128Protocol}[
            options.priv_protocol
        ]
        return hlapi.UsmUserData(
            options.user, authKey=options.auth_key, privKey=options.priv_key, authProtocol=auth, privProtocol=priv
        )

    async def _exchange(self, value: int | None) -> Any:
        hlapi, options = self.hlapi, self.options
        engine = hlapi.SnmpEngine()
        try:
            target = await hlapi.UdpTransportTarget.create(
                (options.host, options.port), timeout=options.timeout, retries=options.retries
            )
            identity = hlapi.ObjectIdentity(self.target_oid)
            if value is None:
                return await hlapi.get_cmd(
                    engine, self._credentials(), target, hlapi.ContextData(), hlapi.ObjectType(identity)
                )
            return await hlapi.set_cmd(
                engine,
                self._credentials(),
                target,
                hlapi.ContextData(),
                hlapi.ObjectType(identity, hlapi.Integer(value)),
            )
        finally:
            engine.close_dispatcher()

    def _request(self, value: int | None) -> bool | None:
        action = "GET" if value is None else f"SET {value}"
        failed = f"{self.context}: SNMP {action} {self.target_oid} on {self.where}"
        try:
            indication, status, _, bindings = asyncio.run(self._exchange(value))
        except OSError as error:
            raise DriverError(f"{failed}: {error}") from None
        except Exception as error:  # pysnmp's own errors (a name that does not resolve, ...)
            raise DriverError(f"{failed}: {type(error).__name__}: {error}") from None
        if indication:
            raise DriverError(f"{failed}: {self._explain(indication)}")
        if status:
            raise DriverError(f"{failed}: the agent answered {status.prettyPrint()}")
        answer = bindings[0][1]
        try:
            number = int(answer)
        except (TypeError, ValueError):
            shown = answer.prettyPrint() if hasattr(answer, "prettyPrint") else repr(answer)
            raise DriverError(f"{failed}: no outlet {self.options.outlet} there ({shown})") from None
        if number == self.options.on_value:
            return True
        if number == self.options.off_value:
            return False
        return None  # a value of its own (rebooting, say): no state to check

    def _explain(self, indication: Any) -> str:
        text = str(indication)
        name = type(indication).__name__
        for key, hint in HINTS.items():
            if key.lower() in (name + text).lower():
                return f"{text} ({hint})"
        if "timeout" in (name + text).lower() or "no snmp response" in text.lower():
            tries = self.options.retries + 1
            guess = "wrong community, or" if self.options.version == "2c" else "wrong user or keys, or"
            return f"no answer within {self.options.timeout:g} s ({tries} tries): {guess} the agent is down"
        return text

    def _switch(self, on: bool) -> bool | None:
        return self._request(self.options.on_value if on else self.options.off_value)

    def _read(self) -> bool | None:
        return self._request(None)
