"""Log files and artifacts: one folder per test id, a run starts its own files, a log that cannot be
written never stops a console, nothing lands in the current directory or outside the log folder."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree

import pytest

from pytest_hil.dist.controller import DistController
from pytest_hil.paths import contained, folder_name_of
from tests.conftest import SIM_LAB

LAB = SIM_LAB + "    shell: {username: root, prompt: 'root@sim-b:\\S*# '}\n"


def test_test_ids_that_differ_get_distinct_folders(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.path.joinpath("lab.yaml").write_text(LAB)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.hil(board="sim-b")
        @pytest.mark.parametrize("name", ["a/b", "a b", "a:b"])
        def test_x(shell, hil_artifacts, name):
            shell.run("echo console-of-" + name.replace(" ", "_"))
            (hil_artifacts / "note.txt").write_text(name)
        """
    )
    logs = tmp_path / "logs"
    for _ in range(2):  # the second run into the same folder starts its own files
        result = pytester.runpytest("--hil-lab=lab.yaml", f"--hil-log-dir={logs}", "--junitxml=junit.xml")
        result.assert_outcomes(passed=3)
    folders = sorted(path for path in logs.iterdir() if path.name.startswith("test_"))
    assert len(folders) == 3
    assert sorted(folder.joinpath("note.txt").read_text() for folder in folders) == ["a b", "a/b", "a:b"]
    for folder in folders:
        name = folder.joinpath("note.txt").read_text().replace(" ", "_")
        console = folder.joinpath("sim-b.console.log").read_text()
        others = {"a/b", "a_b", "a:b"} - {name}
        assert f"console-of-{name}\n" in console and not any(f"console-of-{other}" in console for other in others)
    junit = ElementTree.parse(pytester.path / "junit.xml")
    named = {prop.get("value") for prop in junit.iter("property") if prop.get("name") == "hil.console_log"}
    assert named == {str(folder / "sim-b.console.log") for folder in folders}
    session_log = (logs / "session" / "sim-b.console.log").read_text()
    assert session_log.count("console-of-a_b") == 1  # not the first run's too


def test_folder_names_are_safe_and_short() -> None:
    names = {folder_name_of(f"tests/test_a.py::test_x[{param}]") for param in ("a/b", "a b", "a:b", "a_b", "../..")}
    assert len(names) == 5
    assert all("/" not in name and " " not in name and not name.startswith(".") for name in names)
    assert len(folder_name_of("t.py::test_" + "x" * 1000)) < 170


def test_names_from_outside_stay_in_their_folder(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "link").symlink_to(tmp_path / "elsewhere")
    folder = tmp_path / "logs"
    assert contained(folder, "session/b.console.log") == folder / "session" / "b.console.log"
    for name in ("../x.log", "/etc/passwd", "a/../../x.log", "", "link/x.log", "a\0b", "..", "."):
        assert contained(folder, name) is None, name


def test_a_lab_host_cannot_ship_logs_outside_the_log_folder(tmp_path: Path) -> None:
    lab = SimpleNamespace(boards={"b": SimpleNamespace(host="ci@lab-1")})
    factory = SimpleNamespace(getbasetemp=lambda: tmp_path)
    session = SimpleNamespace(
        lab=lab, use_log_dir=lambda default: tmp_path / "logs", config=SimpleNamespace(_tmp_path_factory=factory)
    )
    controller = DistController(session, {0: "b"}, {})  # type: ignore[arg-type]
    shipped = {
        "t-1/b.console.log": b"fine",
        "../escaped.log": b"x",
        str(tmp_path / "abs.log"): b"x",
        "a/../../up.log": b"x",
    }
    node = SimpleNamespace(gateway=SimpleNamespace(id="gw0"), workeroutput={"hil_logs": shipped})
    with pytest.warns(pytest.PytestWarning, match="would land outside") as warned:
        controller.pytest_testnodedown(node, None)
    assert len(warned) == 3
    assert (tmp_path / "logs" / "b@ci@lab-1" / "t-1" / "b.console.log").read_bytes() == b"fine"
    assert sorted(path.name for path in tmp_path.rglob("*.log")) == ["b.console.log"]


def test_a_full_log_folder_never_stops_a_console(pytester: pytest.Pytester, small_filesystem: Path) -> None:
    pytester.path.joinpath("lab.yaml").write_text(LAB)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.hil(board="sim-b")
        def test_lots_of_output(shell):
            for _ in range(3):
                result = shell.run("seq 1 20000")
                assert result.stdout.split() == [str(n) for n in range(1, 20001)]

        @pytest.mark.hil(board="sim-b")
        def test_after(shell):
            assert shell.run("echo still here").stdout == "still here\\n"
        """
    )
    result = pytester.runpytest("--hil-lab=lab.yaml", f"--hil-log-dir={small_filesystem}", "-W", "always")
    result.assert_outcomes(passed=2)
    warnings = [line for line in result.outlines if "cannot write the console log" in line]
    assert len(warnings) == 1, result.outlines
    assert "No space left on device" in warnings[0] and str(small_filesystem) in warnings[0]


def test_artifacts_outside_a_test_never_land_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_hil.console.log import BoardLogs

    monkeypatch.chdir(tmp_path)
    assert BoardLogs("b", tmp_path / "logs").artifact_dir() == tmp_path / "logs" / "artifacts"
    elsewhere = BoardLogs("b").artifact_dir()
    assert tmp_path not in elsewhere.parents and elsewhere.name.startswith("hil-artifacts-b-")
    assert list(tmp_path.iterdir()) == [tmp_path / "logs"]
