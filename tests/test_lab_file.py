"""The lab file: what a good one yields, and one located error line per kind of mistake."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

import hil_drivers.sim
from pytest_hil import hookimpl
from pytest_hil.errors import LabError
from pytest_hil.interfaces import Power
from pytest_hil.lab import load_lab
from pytest_hil.registry import DriverRegistry, default_registry
from pytest_hil.secrets import MASK

WriteLab = Callable[..., Path]


@dataclass(frozen=True)
class RelayOptions:
    url: str
    channel: int = 1
    timeout: float = 2.0
    mode: Literal["http", "https"] = "http"
    image: Path | None = None
    headers: dict[str, str] = field(default_factory=dict)
    verify: bool = True


class Relay(Power):
    """A power switch used only to give the loader a schema with every kind of field."""

    kind = "relay"
    Options = RelayOptions

    def on(self) -> None: ...

    def off(self) -> None: ...

    def state(self) -> bool | None:
        return None


class _RelayPlugin:
    @hookimpl
    def hil_drivers(self) -> list[type[Power]]:
        return [Relay]


@pytest.fixture
def registry() -> DriverRegistry:
    registry = DriverRegistry()
    registry.register(hil_drivers.sim, "pytest-hil")
    registry.register(_RelayPlugin(), "tests")
    return registry


def errors_of(path: Path, registry: DriverRegistry, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(LabError) as raised:
        load_lab(path, registry, environ or {})
    return [str(issue) for issue in raised.value.issues]


GOOD = """
    version: 1
    name: bench
    leases: {url: "sqlite:///tmp/leases.db", ttl: 20}
    selectors:
      arm: family=rpi4,arch=arm64
    boards:
      rpi4-01:
        labels: {family: rpi4, arch: arm64, hdmi: yes, rev: 1.2}
        host: ci@labhost-1
        resources:
          power: {driver: relay, url: "http://10.0.0.21", channel: 2, image: images/a.img}
          console: {driver: sim-console}
        shell: {username: root, password: "${ROOT_PW}", prompt: '~ # '}
    """


def test_good_lab_yields_the_model(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(GOOD)
    lab = load_lab(path, registry, {"ROOT_PW": "hunter2"})
    board = lab.boards["rpi4-01"]
    assert lab.name == "bench" and lab.version == 1
    assert lab.leases.url == "sqlite:///tmp/leases.db" and lab.leases.ttl == 20
    assert board.labels == {"family": "rpi4", "arch": "arm64", "hdmi": "yes", "rev": "1.2"}
    assert board.host == "ci@labhost-1"
    power = board.resources["power"]
    assert power.kind == "relay" and power.interfaces == ("power",)
    assert power.options.channel == 2 and power.options.timeout == 2.0
    assert board.shell is not None and board.shell.password == "hunter2" and board.shell.prompt == "~ # "
    assert str(lab.selectors["arm"]) == "family=rpi4,arch=arm64"
    assert len(lab.sha256) == 64


def test_relative_paths_resolve_against_the_lab_folder(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(GOOD)
    options = load_lab(path, registry, {"ROOT_PW": "x"}).boards["rpi4-01"].resources["power"].options
    assert options.image == path.parent / "images" / "a.img"


def test_home_is_expanded_in_paths(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(GOOD.replace("images/a.img", "~/a.img"))
    options = load_lab(path, registry, {"ROOT_PW": "x"}).boards["rpi4-01"].resources["power"].options
    assert options.image == Path.home() / "a.img"


def test_environment_defaults_apply_when_unset(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(GOOD.replace("${ROOT_PW}", "${ROOT_PW:-fallback}"))
    assert load_lab(path, registry, {}).boards["rpi4-01"].shell.password == "fallback"  # type: ignore[union-attr]


def test_environment_values_convert_to_the_option_type(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(GOOD.replace("channel: 2", 'channel: "${CHANNEL}"'))
    options = load_lab(path, registry, {"ROOT_PW": "x", "CHANNEL": "7"}).boards["rpi4-01"].resources["power"].options
    assert options.channel == 7


def test_url_credentials_are_secrets(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(GOOD.replace('"http://10.0.0.21"', '"${PDU_URL}"'))
    lab = load_lab(path, registry, {"ROOT_PW": "x", "PDU_URL": "http://admin:hunter22@pdu/?token=t0ken-42&relay=2"})
    power = lab.boards["rpi4-01"].resources["power"]
    assert power.options.url == "http://admin:hunter22@pdu/?token=t0ken-42&relay=2"
    assert power.shown_options()["url"] == "http://admin:***@pdu/?token=***&relay=2"
    assert "hunter22" not in repr(power) and "t0ken-42" not in repr(power)
    assert {"hunter22", "t0ken-42"} <= lab.secrets


def test_secret_named_variables_are_secrets_wherever_used(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(
        GOOD.replace('"http://10.0.0.21"', '"http://pdu/${PDU_TOKEN}/on"').replace("ci@labhost-1", '"${HOST_SECRET}"')
    )
    lab = load_lab(path, registry, {"ROOT_PW": "rootpw-1", "PDU_TOKEN": "abc-secret", "HOST_SECRET": "ci@hidden-host"})
    assert lab.boards["rpi4-01"].resources["power"].shown_options()["url"] == "http://pdu/***/on"
    assert {"abc-secret", "ci@hidden-host", "rootpw-1"} <= lab.secrets


def test_other_values_from_the_environment_are_not_secrets(write_lab: WriteLab, registry: DriverRegistry) -> None:
    text = GOOD.replace("channel: 2", 'channel: "${CHANNEL:-512}"').replace("arch: arm64,", 'arch: "${ARCH}",')
    lab = load_lab(write_lab(text), registry, {"ROOT_PW": "rootpw-1", "ARCH": "arm64"})
    board = lab.boards["rpi4-01"]
    assert board.resources["power"].options.channel == 512
    assert board.labels["arch"] == "arm64"
    assert lab.secrets == {"rootpw-1"}  # shell.password, declared secret


def test_declared_secret_options_are_masked_even_when_written_out(write_lab: WriteLab) -> None:
    registry = DriverRegistry()
    registry.register(hil_drivers.sim, "pytest-hil")
    path = write_lab(
        """
        version: 1
        boards:
          a:
            resources:
              power: {driver: sim-power, password: literal-pw}
              console: {driver: sim-console}
        """
    )
    lab = load_lab(path, registry, {})
    assert lab.boards["a"].resources["power"].shown_options() == {"password": MASK}
    assert "literal-pw" not in repr(lab.boards["a"].resources["power"].options)
    assert lab.secrets == {"literal-pw"}


def test_a_label_cannot_hold_a_secret(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(GOOD.replace("arch: arm64,", 'arch: "${ARCH_KEY}",'))
    assert errors_of(path, registry, {"ROOT_PW": "rootpw-1", "ARCH_KEY": "arm64"}) == [
        f"{path}:8: boards.rpi4-01.labels.arch: labels are shown in every report: a label cannot hold a secret"
    ]


def test_a_secret_too_short_to_search_for_is_a_warning(write_lab: WriteLab, registry: DriverRegistry) -> None:
    lab = load_lab(write_lab(GOOD), registry, {"ROOT_PW": "pw"})
    assert [str(warning) for warning in lab.warnings] == [
        f"{lab.path}:13: boards.rpi4-01.shell.password: warning: a secret of 2 character(s) is masked where shown "
        "as a value, but too short to be searched for in console output and messages (use at least 4)"
    ]


def test_merge_keys_share_options_between_boards(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(
        """
        version: 1
        x-relay: &relay {driver: relay, url: "http://pdu", timeout: 5}
        boards:
          a:
            resources:
              power: {<<: *relay, channel: 1}
          b:
            resources:
              power: {<<: *relay, channel: 2}
        """
    )
    lab = load_lab(path, registry, {})
    assert [board.resources["power"].options.channel for board in lab.boards.values()] == [1, 2]
    assert lab.boards["b"].resources["power"].options.timeout == 5


# One test per kind of mistake: each asserts file, line, key path and message.


def test_unknown_driver_kind_lists_known_kinds(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(
        """
        version: 1
        boards:
          a:
            resources:
              power: {driver: tasmotta, url: x}
        """
    )
    assert errors_of(path, registry) == [
        f"{path}:5: boards.a.resources.power.driver: unknown driver kind 'tasmotta' "
        "(known kinds: relay, sim-console, sim-power, sim-ssh, sim-storage, sim-video)"
    ]


def test_missing_required_option(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(
        """
        version: 1
        boards:
          a:
            resources:
              power:
                driver: relay
                channel: 2
        """
    )
    assert errors_of(path, registry) == [f"{path}:5: boards.a.resources.power: missing required option 'url' (string)"]


def test_unknown_option_lists_known_options(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(
        """
        version: 1
        boards:
          a:
            resources:
              power:
                driver: relay
                url: http://pdu
                chanel: 2
        """
    )
    assert errors_of(path, registry) == [
        f"{path}:8: boards.a.resources.power.chanel: unknown option "
        "(known: channel, headers, image, mode, timeout, url, verify)"
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"two"', "expected integer, got string 'two'"),
        ("true", "expected integer, got boolean True"),
        ("[1, 2]", "expected integer, got a list"),
        ("2.5", "expected integer, got number 2.5"),
    ],
)
def test_wrong_type(write_lab: WriteLab, registry: DriverRegistry, value: str, message: str) -> None:
    path = write_lab(
        f"""
        version: 1
        boards:
          a:
            resources:
              power:
                driver: relay
                url: http://pdu
                channel: {value}
        """
    )
    assert errors_of(path, registry) == [f"{path}:8: boards.a.resources.power.channel: {message}"]


def test_wrong_type_names_literal_choices(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(
        """
        version: 1
        boards:
          a:
            resources:
              power: {driver: relay, url: x, mode: ftp}
        """
    )
    assert errors_of(path, registry) == [
        f"{path}:5: boards.a.resources.power.mode: expected one of 'http', 'https', got string 'ftp'"
    ]


@pytest.mark.parametrize(
    ("text", "line", "key", "first"),
    [
        ("version: 1\nversion: 1\nboards: {a: {resources: {c: {driver: sim-console}}}}\n", 2, "version", 1),
        (
            "version: 1\nboards:\n  a:\n    resources:\n      c: {driver: sim-console}\n"
            "  a:\n    resources:\n      c: {driver: sim-console}\n",
            6,
            "boards.a",
            3,
        ),
        (
            "version: 1\nboards:\n  a:\n    labels:\n      family: x\n      family: y\n"
            "    resources: {c: {driver: sim-console}}\n",
            6,
            "boards.a.labels.family",
            5,
        ),
        (
            "version: 1\nboards:\n  a:\n    resources:\n      c: {driver: sim-console, uart: 0, uart: 1}\n",
            5,
            "boards.a.resources.c.uart",
            5,
        ),
    ],
    ids=["top-level", "board", "label", "option"],
)
def test_duplicate_key_anywhere(
    write_lab: WriteLab, registry: DriverRegistry, text: str, line: int, key: str, first: int
) -> None:
    path = write_lab(text)
    assert errors_of(path, registry) == [f"{path}:{line}: {key}: duplicate key (first defined on line {first})"]


def test_unknown_top_level_key(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(
        """
        version: 1
        bords: {}
        boards: {a: {resources: {c: {driver: sim-console}}}}
        """
    )
    assert errors_of(path, registry) == [
        f"{path}:2: bords: unknown top-level key (known: version, name, leases, remote, selectors, boards; 'x-' keys are free)"
    ]


def test_unsupported_version(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab("version: 2\nboards: {a: {resources: {c: {driver: sim-console}}}}\n")
    assert errors_of(path, registry) == [f"{path}:1: version: unsupported version 2 (this pytest-hil reads version 1)"]


def test_missing_version(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab("boards: {a: {resources: {c: {driver: sim-console}}}}\n")
    assert errors_of(path, registry) == [f"{path}:1: missing 'version' (this pytest-hil reads version 1)"]


def test_unset_environment_variable(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(GOOD)
    assert errors_of(path, registry, {}) == [
        f"{path}:13: boards.rpi4-01.shell.password: environment variable ROOT_PW is not set "
        "(write ${ROOT_PW:-default} for a default)"
    ]


def test_bad_selector_syntax(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(
        """
        version: 1
        selectors:
          arm: "family==rpi4"
        boards: {a: {resources: {c: {driver: sim-console}}}}
        """
    )
    assert errors_of(path, registry) == [
        f"{path}:3: selectors.arm: selector 'family==rpi4': term 'family==rpi4' uses '=='; write key=value"
    ]


@pytest.mark.parametrize("resources", ["", "    resources: {}\n", "    resources:\n"], ids=["none", "empty", "null"])
def test_board_with_no_resources(write_lab: WriteLab, registry: DriverRegistry, resources: str) -> None:
    path = write_lab(f"version: 1\nboards:\n  a:\n    labels: {{x: y}}\n{resources}")
    assert errors_of(path, registry) == [f"{path}:3: boards.a: board has no resources"]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"], ids=["empty", "comment", "document-marker"])
def test_empty_file(write_lab: WriteLab, registry: DriverRegistry, text: str) -> None:
    path = write_lab(text) if text else write_lab("")
    assert errors_of(path, registry) == [
        f"{path}:1: the lab file is empty; it needs at least 'version: 1' and 'boards:'"
    ]


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "a list"), ("just text\n", "a string")])
def test_non_mapping_file(write_lab: WriteLab, registry: DriverRegistry, text: str, kind: str) -> None:
    path = write_lab(text)
    assert errors_of(path, registry) == [f"{path}:1: a lab file is a mapping with 'version' and 'boards', not {kind}"]


def test_yaml_syntax_error_has_its_line(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab("version: 1\nboards:\n  a: {resources: [\n")
    (error,) = errors_of(path, registry)
    assert error.startswith(f"{path}:4: not valid YAML: ")


def test_missing_file_is_one_line(tmp_path: Path, registry: DriverRegistry) -> None:
    assert errors_of(tmp_path / "nope.yaml", registry) == [f"{tmp_path / 'nope.yaml'}: lab file not found"]


def test_resource_name_must_be_a_fixture_name(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab("version: 1\nboards:\n  a:\n    resources:\n      can-0: {driver: sim-console}\n")
    assert errors_of(path, registry) == [
        f"{path}:5: boards.a.resources.can-0: resource names become fixture names: "
        "use letters, digits and '_', not starting with a digit"
    ]


def test_resource_named_after_an_interface_must_offer_it(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab("version: 1\nboards:\n  a:\n    resources:\n      power: {driver: sim-console}\n")
    assert errors_of(path, registry) == [
        f"{path}:5: boards.a.resources.power: a resource called 'power' must be a power driver; "
        "sim-console offers console"
    ]


def test_shell_console_must_name_a_console(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(
        """
        version: 1
        boards:
          a:
            resources: {power: {driver: relay, url: x}}
            shell: {console: power, prompt: '('}
        """
    )
    assert errors_of(path, registry) == [
        f"{path}:5: boards.a.shell.console: resource 'power' (relay) is not a console",
        f"{path}:5: boards.a.shell.prompt: not a valid regular expression: missing ), unterminated subpattern "
        "at position 0",
    ]


def test_every_mistake_in_a_file_is_reported(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(
        """
        version: 3
        colour: blue
        boards:
          a:
            labels: {family: x}
            resources:
              power: {driver: relay, url: 5, speed: 9}
              console: {driver: nope}
          b:
            resources: {}
        """
    )
    assert errors_of(path, registry) == [
        f"{path}:1: version: unsupported version 3 (this pytest-hil reads version 1)",
        f"{path}:2: colour: unknown top-level key (known: version, name, leases, remote, selectors, boards; 'x-' keys are free)",
        f"{path}:7: boards.a.resources.power.url: expected string, got integer 5",
        f"{path}:7: boards.a.resources.power.speed: unknown option "
        "(known: channel, headers, image, mode, timeout, url, verify)",
        f"{path}:8: boards.a.resources.console.driver: unknown driver kind 'nope' "
        "(known kinds: relay, sim-console, sim-power, sim-ssh, sim-storage, sim-video)",
        f"{path}:9: boards.b: board has no resources",
    ]


def test_a_secret_never_appears_in_an_error(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(GOOD.replace("channel: 2", 'channel: "${CHANNEL_TOKEN}"'))
    (error,) = errors_of(path, registry, {"ROOT_PW": "x", "CHANNEL_TOKEN": "s3cret"})
    assert "s3cret" not in error
    assert error == f"{path}:11: boards.rpi4-01.resources.power.channel: expected integer, got string '***'"


def test_labels_keep_their_text(write_lab: WriteLab, registry: DriverRegistry) -> None:
    path = write_lab(
        "version: 1\nboards:\n  a:\n    labels: {hdmi: yes, rev: 010}\n    resources: {c: {driver: sim-console}}\n"
    )
    assert load_lab(path, registry, {}).boards["a"].labels == {"hdmi": "yes", "rev": "010"}


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("leases: {ttl: .nan}", "leases.ttl: expected a finite number, got nan"),
        ("leases: {ttl: .inf}", "leases.ttl: expected a finite number, got inf"),
        ("leases: {ttl: -1}", "leases.ttl: must be more than 0, got -1"),
        (
            'leases: {url: "ftp://labdb/leases"}',
            "leases.url: expected a sqlite:// or postgresql:// or postgres:// URL, got ftp://",
        ),
    ],
)
def test_lab_keys_out_of_range_are_lab_errors(
    write_lab: WriteLab, registry: DriverRegistry, line: str, error: str
) -> None:
    path = write_lab(f"version: 1\n{line}\nboards:\n  a:\n    resources:\n      console: {{driver: sim-console}}\n")
    assert errors_of(path, registry) == [f"{path}:2: {error}"]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ("boot_time: -5", "boot_time: must be at least 0, got -5"),
        ("ssh_port: 1000000000", "ssh_port: must be at most 65535, got 1000000000"),
        ("ssh_port: 0", "ssh_port: must be at least 1, got 0"),
        ("kernel_messages: .nan", "kernel_messages: expected a finite number, got nan"),
    ],
)
def test_driver_options_out_of_range_are_lab_errors(
    write_lab: WriteLab, registry: DriverRegistry, options: str, error: str
) -> None:
    path = write_lab(f"version: 1\nboards:\n  a:\n    resources:\n      power: {{driver: sim-power, {options}}}\n")
    assert errors_of(path, registry) == [f"{path}:5: boards.a.resources.power.{error}"]


def test_negative_timeouts_are_lab_errors(write_lab: WriteLab) -> None:
    path = write_lab(
        "version: 1\nboards:\n  a:\n    resources:\n"
        "      console: {driver: sim-console, timeout: -1}\n"
        "      ssh: {driver: ssh, host: x, timeout: 0, port: 70000}\n"
        "    shell: {boot_timeout: -3}\n"
    )
    assert errors_of(path, default_registry()) == [
        f"{path}:5: boards.a.resources.console.timeout: must be more than 0, got -1",
        f"{path}:6: boards.a.resources.ssh.timeout: must be more than 0, got 0",
        f"{path}:6: boards.a.resources.ssh.port: must be at most 65535, got 70000",
        f"{path}:7: boards.a.shell.boot_timeout: must be more than 0, got -3",
    ]


def test_what_is_not_a_regular_file_is_refused_at_once(tmp_path: Path, registry: DriverRegistry) -> None:
    fifo = tmp_path / "lab.fifo"
    os.mkfifo(fifo)
    for path, said in [
        (Path("/dev/zero"), "not a regular file (a device or socket)"),
        (fifo, "not a regular file (a FIFO)"),
        (tmp_path, "not a regular file (a folder)"),
    ]:
        assert errors_of(path, registry) == [f"{path}: {said}: a lab file is a YAML text file"]


def test_a_huge_file_is_refused_in_one_line(tmp_path: Path, registry: DriverRegistry) -> None:
    path = tmp_path / "lab.yaml"
    path.write_bytes(b"# padding\n" * (2 * 2**20))
    assert errors_of(path, registry) == [f"{path}: larger than 16 MiB: not a lab file"]


def test_a_lab_of_30000_boards_loads(write_lab: WriteLab, registry: DriverRegistry) -> None:
    boards = "".join(f"  b{n}:\n    resources:\n      console: {{driver: sim-console}}\n" for n in range(30000))
    lab = load_lab(write_lab(f"version: 1\nboards:\n{boards}"), registry, {})
    assert len(lab.boards) == 30000


def test_too_many_values_is_one_line(write_lab: WriteLab, registry: DriverRegistry) -> None:
    # an alias bomb: 9 levels of 10 aliases each would be a billion values
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]
    path = write_lab("version: 1\nx-bomb:\n" + "".join(f"  {level}\n" for level in levels) + "boards: {}\n")
    (error,) = errors_of(path, registry)
    assert "document too large: over 1000000 values once aliases are expanded" in error


@pytest.mark.parametrize(
    ("value", "tag"),
    [("!custom 1", "!custom"), ("!!python/name:os.system x", "!!python/name:os.system"), ("!env {a: 1}", "!env")],
)
def test_tags_are_one_located_line(write_lab: WriteLab, registry: DriverRegistry, value: str, tag: str) -> None:
    path = write_lab(
        f"version: 1\nname: {value}\nboards:\n  a:\n    resources:\n      console: {{driver: sim-console}}\n"
    )
    assert errors_of(path, registry) == [f"{path}:2: name: the tag {tag} is not allowed: a lab file holds plain values"]
