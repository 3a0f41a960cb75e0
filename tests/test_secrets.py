"""Secrets never leave masked: `hil` output, pytest's terminal (with `-l`), junit, console logs and
exceptions, for URL credentials, secrets in URL paths and query strings, and store URLs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_hil.board import Board
from pytest_hil.errors import DriverError
from pytest_hil.lab import load_lab
from pytest_hil.secrets import is_secret_name, mask, redact_urls
from tests.conftest import dedent
from tests.fake_switches import FakeSwitch, serving

SECRET = "Zq-9xSecretValue"


@pytest.fixture
def forbidding() -> Iterator[tuple[FakeSwitch, str]]:
    """A switch answering every request with 403."""
    with serving("relay") as (switch, url):
        switch.answer = (403, "forbidden")
        yield switch, url


def hil(lab: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_hil.cli.main", "--lab", str(lab), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def power_lab(tmp_path: Path, resource: str) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(f"version: 1\nboards:\n  hp:\n    resources:\n      power: {resource}\n")
    return path


@pytest.mark.parametrize(
    ("resource", "shown"),
    [
        ('{driver: http-power, url: "http://admin:${PW}@HOSTPORT"}', "admin:***@"),
        ('{driver: http-power, url: "http://HOSTPORT/${PDU_TOKEN}"}', "/***/on"),
        ('{driver: shelly, gen: 1, url: "http://HOSTPORT", username: admin, password: "${SHELLY_PASSWORD}"}', "403"),
        ('{driver: tasmota, url: "http://HOSTPORT", username: admin, password: "${TASMOTA_PW}"}', "403"),
    ],
    ids=["userinfo", "path", "shelly", "tasmota"],
)
def test_hil_power_never_prints_a_switch_secret(
    tmp_path: Path, forbidding: tuple[FakeSwitch, str], resource: str, shown: str
) -> None:
    _, url = forbidding
    lab = power_lab(tmp_path, resource.replace("HOSTPORT", url.removeprefix("http://")))
    env = {name: SECRET for name in ("PW", "PDU_TOKEN", "SHELLY_PASSWORD", "TASMOTA_PW")}
    result = hil(lab, "power", "hp", "on", env=env)
    assert result.returncode == 1
    assert SECRET not in result.stdout + result.stderr
    assert shown in result.stderr and "403" in result.stderr


def test_requests_own_exception_text_is_masked(tmp_path: Path, forbidding: tuple[FakeSwitch, str]) -> None:
    """https:// to a plain HTTP server: requests' SSLError names the URL with tasmota's query-string password."""
    _, url = forbidding
    lab = power_lab(
        tmp_path,
        f'{{driver: tasmota, url: "{url.replace("http:", "https:")}", username: admin, password: "{SECRET}", retries: 0}}',
    )
    board = Board(load_lab(lab).boards["hp"], tmp_path)
    try:
        with pytest.raises(DriverError) as raised:
            board.power.on()  # type: ignore[attr-defined]
    finally:
        board.close()
    assert "SSLError" in str(raised.value)
    assert SECRET not in str(raised.value) and "password=***" in str(raised.value)
    assert raised.value.__cause__ is None and (raised.value.__context__ is None or raised.value.__suppress_context__)


def test_a_failing_run_shows_no_secret_anywhere(pytester: pytest.Pytester, forbidding: tuple[FakeSwitch, str]) -> None:
    """A known secret grepped for in every output of a failing run: terminal with -l, junit, console logs."""
    _, url = forbidding
    pytester.path.joinpath("lab.yaml").write_text(
        dedent(
            f"""
            version: 1
            boards:
              sim-a:
                resources:
                  power: {{driver: sim-power, boot_time: 0.1, password: "${{SIM_PASSWORD}}"}}
                  console: {{driver: sim-console, timeout: 5}}
                  pdu: {{driver: http-power, url: "http://admin:${{PDU_PW}}@{url.removeprefix("http://")}", retries: 0}}
                shell: {{username: root, password: "${{SIM_PASSWORD}}", prompt: 'root@sim-a:\\S*# '}}
            """
        )
    )
    pytester.makepyfile(
        """
        def test_switch(shell, pdu):
            assert shell.run("echo hello").stdout == "hello\\n"
            pdu.on()

        def test_secret_in_output(shell, board):
            print(board.resources["pdu"].options.url)
            shell.run("echo $HOME; echo " + board.resources["power"].options.password)
            assert False, board.resources["pdu"].options.url
        """
    )
    logs = pytester.path / "logs"
    junit = pytester.path / "junit.xml"
    pytester._monkeypatch.setenv("SIM_PASSWORD", SECRET + "-sim")
    pytester._monkeypatch.setenv("PDU_PW", SECRET)
    result = pytester.runpytest_subprocess(
        "--hil-lab=lab.yaml", "-l", "--tb=long", "-rA", f"--junitxml={junit}", f"--hil-log-dir={logs}"
    )
    result.assert_outcomes(failed=2)
    outputs = {"stdout": result.stdout.str(), "stderr": result.stderr.str(), "junit": junit.read_text()}
    outputs |= {str(path): path.read_text(errors="replace") for path in logs.rglob("*") if path.is_file()}
    assert len(outputs) > 4  # console logs were written
    for where, text in outputs.items():
        assert SECRET not in text, where
    assert "admin:***@" in outputs["stdout"] and "403" in outputs["stdout"]


def test_a_store_url_password_is_masked(tmp_path: Path, postgres_url: str) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text("version: 1\nboards:\n  b1:\n    resources:\n      console: {driver: sim-console}\n")
    url = f"{postgres_url}?password={SECRET}"
    leased = hil(
        lab, "lease", "b1", "--for", "1m", "--json", env={"HIL_LEASE_URL": url, "XDG_STATE_HOME": str(tmp_path)}
    )
    assert leased.returncode == 0, leased.stderr
    assert SECRET not in leased.stdout + leased.stderr and "password=***" in leased.stdout
    down = hil(lab, "leases", env={"HIL_LEASE_URL": f"postgresql://hil@127.0.0.1:1/hil?password={SECRET}"})
    assert down.returncode == 1
    assert SECRET not in down.stdout + down.stderr and "password=***" in down.stderr


def test_the_rule_for_names_and_urls() -> None:
    assert [is_secret_name(name) for name in ("ROOT_PASSWORD", "PDU_PW", "api_key", "GH_TOKEN", "CMD_TIMEOUT", "POWER")] == [
        True, True, True, True, False, False,
    ]  # fmt: skip
    assert redact_urls("see http://u:p4ss@h:1/x?sig=abc&relay=2 and sqlite:///x") == (
        "see http://u:***@h:1/x?sig=***&relay=2 and sqlite:///x"
    )
    assert mask("nothing here") == "nothing here"
