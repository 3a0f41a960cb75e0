"""The board runs the firmware this session flashed: its boot log and its shell say so."""

import hashlib

import pytest

from pytest_hil.images import open_image
from pytest_hil.interfaces import Shell

pytestmark = pytest.mark.hil("family=simboard")


@pytest.fixture(scope="session")
def firmware_sha256(request: pytest.FixtureRequest) -> str:
    """sha256 of the image as written (a compressed image is hashed decompressed)."""
    digest = hashlib.sha256()
    with open_image(request.config.getoption("firmware")) as image:
        while chunk := image.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def test_the_board_booted_the_flashed_image(shell: Shell, firmware_sha256: str) -> None:
    assert shell.run_check("echo $HIL_BOOT_SHA256").stdout.strip() == firmware_sha256


@pytest.mark.hil("family=simboard", each=True)
def test_every_board_runs_it(shell: Shell, firmware_sha256: str) -> None:
    assert shell.run_check("echo $HIL_BOOT_SHA256").stdout.strip() == firmware_sha256
