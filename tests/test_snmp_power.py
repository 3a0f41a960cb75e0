"""snmp-power against a real net-snmp snmpd whose pass script holds an APC-style PDU's outlets."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_hil.board import Board
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import Power
from tests.conftest import power_option_errors
from tests.snmp_agent import READ_COMMUNITY, V3_AUTH, V3_PRIV, V3_USER, WRITE_COMMUNITY, Agent, snmpd

MakePower = Callable[[str], tuple[Power, Board]]


@pytest.fixture
def pdu_power(make_power: MakePower, monkeypatch: pytest.MonkeyPatch) -> MakePower:
    """An snmp-power outlet on 127.0.0.1 with these options; the agent's secrets in the environment."""
    monkeypatch.setenv("PDU_COMMUNITY", WRITE_COMMUNITY)
    monkeypatch.setenv("PDU_AUTH", V3_AUTH)
    monkeypatch.setenv("PDU_PRIV", V3_PRIV)
    return lambda options: make_power(f"driver: snmp-power, host: 127.0.0.1, {options}")


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Agent]:
    folder = tmp_path / "pdu"
    folder.mkdir()
    try:
        with snmpd(folder) as started:
            yield started
    except RuntimeError as error:
        if "not installed" in str(error):
            pytest.skip(str(error))
        raise


def test_v2c_switches_an_outlet_and_reads_it_back(agent: Agent, pdu_power: MakePower) -> None:
    power, board = pdu_power(f'port: {agent.port}, outlet: 3, community: "${{PDU_COMMUNITY}}"')
    power.on()
    assert agent.outlet(3) == 1 and power.state() is True and agent.outlet(2) == 2
    power.off()
    assert agent.outlet(3) == 2 and power.state() is False
    assert any(
        f"[hil] power on (snmp-power 127.0.0.1:{agent.port} outlet 3 (v2c))" in note for note in board.logs.notes
    )


def test_v3_auth_priv_sha_aes(agent: Agent, pdu_power: MakePower) -> None:
    power, _ = pdu_power(
        f'port: {agent.port}, outlet: 5, version: "3", user: {V3_USER}, auth_protocol: sha,'
        ' auth_key: "${PDU_AUTH}", priv_protocol: aes, priv_key: "${PDU_PRIV}"'
    )
    power.on()
    assert agent.outlet(5) == 1 and power.state() is True


def test_a_read_only_community_is_refused_by_the_agent(agent: Agent, pdu_power: MakePower) -> None:
    power, _ = pdu_power(f"port: {agent.port}, outlet: 1, community: {READ_COMMUNITY}")
    with pytest.raises(
        DriverError, match=r"SNMP SET 1 1.3.6.1.4.1.318.1.1.4.4.2.1.3.1 on 127.0.0.1:\d+: the agent answered noAccess"
    ):
        power.on()
    assert agent.outlet(1) == 2


def test_a_wrong_community_is_one_line_after_the_timeout(agent: Agent, pdu_power: MakePower) -> None:
    power, _ = pdu_power(f"port: {agent.port}, outlet: 1, community: not-the-community, timeout: 0.3, retries: 1")
    started = time.monotonic()
    with pytest.raises(DriverError) as failure:
        power.on()
    assert time.monotonic() - started < 10
    assert str(failure.value).endswith(
        "no answer within 0.3 s (2 tries): wrong community, or the agent is down"
    ) and "not-the-community" not in str(failure.value)


@pytest.mark.parametrize(
    ("keys", "hint"),
    [
        ('auth_key: "wrong-auth-phrase", priv_key: "${PDU_PRIV}"', "wrong auth_key or auth_protocol"),
        (
            'auth_key: "${PDU_AUTH}", priv_key: "wrong-priv-phrase"',
            "no answer within 0.5 s (1 tries): wrong user or keys, or the agent is down",
        ),
    ],
)
def test_wrong_v3_keys_are_one_line(agent: Agent, pdu_power: MakePower, keys: str, hint: str) -> None:
    power, _ = pdu_power(
        f'port: {agent.port}, outlet: 1, version: "3", user: {V3_USER}, auth_protocol: sha, priv_protocol: aes,'
        f" timeout: 0.5, retries: 0, {keys}"
    )
    with pytest.raises(DriverError) as failure:
        power.on()
    text = str(failure.value)
    assert (
        hint in text
        and "\n" not in text
        and "wrong-" not in text.replace("wrong auth_key", "").replace("wrong user", "")
    )
    assert agent.outlet(1) == 2


def test_a_silent_agent_is_one_line(agent: Agent, pdu_power: MakePower) -> None:
    power, _ = pdu_power(f'port: {agent.port}, outlet: 1, community: "${{PDU_COMMUNITY}}", timeout: 0.3, retries: 0')
    agent.pause()
    try:
        with pytest.raises(
            DriverError, match=r"no answer within 0.3 s \(1 tries\): wrong community, or the agent is down$"
        ):
            power.state()
    finally:
        agent.resume()
    assert power.state() is False  # answering again


def test_an_outlet_the_pdu_does_not_have(agent: Agent, pdu_power: MakePower) -> None:
    power, _ = pdu_power(f'port: {agent.port}, outlet: 12, community: "${{PDU_COMMUNITY}}"')
    with pytest.raises(
        DriverError, match=r"SNMP GET 1.3.6.1.4.1.318.1.1.4.4.2.1.3.12 on 127.0.0.1:\d+: no outlet 12 there \(No Such"
    ):
        power.state()


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ('version: "3"', "user: SNMP v3 needs a user"),
        ('version: "3", user: u, auth_protocol: sha', "auth_key: give auth_protocol and auth_key together"),
        (
            'version: "3", user: u, auth_protocol: sha, auth_key: short',
            "auth_key: SNMP v3 pass phrases have at least 8 characters",
        ),
        (
            'version: "3", user: u, priv_protocol: aes, priv_key: "12345678"',
            "priv_protocol: privacy needs auth_protocol too",
        ),
        ("oid: 'ifTable'", "oid: 'ifTable': a numeric OID"),
        ("on_value: 2", "off_value: must differ from on_value"),
        ("version: 1", "version: expected one of '2c', '3', got"),
    ],
)
def test_bad_options_are_lab_errors(tmp_path: Path, options: str, said: str) -> None:
    err = power_option_errors(tmp_path, f"driver: snmp-power, host: pdu, outlet: 1, {options}")
    assert err.startswith(f"{tmp_path / 'lab.yaml'}:5: boards.b1.resources.power") and said in err
