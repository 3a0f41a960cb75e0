"""From bare board to a shell: U-Boot's prompt, its environment and DHCP, then a network boot of the
kernel and initramfs this machine serves, and a command in the booted system; and an image written
into the board's own disk through the flasher OS."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from hil_drivers.servers.tftp import TftpServer
from pytest_hil.interfaces import Bootloader, Flasher

pytestmark = pytest.mark.hil("family=qemu-uboot")


def test_u_boot_stops_at_its_prompt(bootloader: Bootloader) -> None:
    bootloader.reboot_to_console()
    assert bootloader.run("version").startswith("U-Boot")


def test_environment(bootloader: Bootloader) -> None:
    bootloader.reboot_to_console()
    bootloader.env_set("hil_greeting", "hello board")
    assert bootloader.env_get("hil_greeting") == "hello board"
    bootloader.env_set("hil_greeting", None)
    assert bootloader.env_get("hil_greeting") is None


def test_dhcp(bootloader: Bootloader) -> None:
    bootloader.reboot_to_console()
    info = bootloader.dhcp()
    assert info.cidr == "10.0.2.15/24"
    assert info.gateway == "10.0.2.2"


@pytest.mark.usefixtures("need_tftp_port")
def test_network_boot_to_a_shell(
    bootloader: Bootloader,
    tftp: TftpServer,
    lab_address: str,
    boot_images: tuple[Path, Path],
    request: pytest.FixtureRequest,
) -> None:
    kernel, initrd = tftp.put(boot_images[0], "vmlinuz"), tftp.put(boot_images[1], "initramfs.cpio.gz")
    bootloader.reboot_to_console()
    bootloader.dhcp()
    bootloader.env_set("serverip", lab_address)
    bootloader.run_check(f"tftpboot 0x3000000 {kernel}", timeout=120)
    bootloader.run_check(f"tftpboot 0x6000000 {initrd}", timeout=120)
    bootloader.env_set("bootargs", "console=ttyS0 panic=-1 quiet")
    bootloader.boot("zboot 0x3000000 0 0x6000000 ${filesize}")
    shell = request.getfixturevalue("shell")  # logs in once the kernel has booted
    assert shell.run("uname -m").stdout.strip() == "x86_64"


@pytest.mark.usefixtures("need_tftp_port", "need_flasher_os")
def test_flash_the_board_disk_through_the_flasher_os(flasher: Flasher, board_disk: Path, tmp_path: Path) -> None:
    payload = b"pytest-hil was here\n" * 50_000
    image = tmp_path / "rootfs.img.gz"
    image.write_bytes(gzip.compress(payload))
    flasher.flash(image)  # the board writes it, reads it back and the sha256 is compared; then a power cycle
    assert board_disk.read_bytes()[: len(payload)] == payload
