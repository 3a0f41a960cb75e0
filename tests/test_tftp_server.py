"""tftp-server against real clients: tftp-hpa on this machine, U-Boot's tftpboot in QEMU; and a raw
client for the options (blksize, tsize, timeout, windowsize), lost packets, write requests and names
that try to leave the root."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from hil_drivers.servers.tftp import TftpServer
from pytest_hil.board import Board
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import Bootloader, FileServer


def tftp(make_board: Callable[[str], Board], options: str = ", port: 0") -> TftpServer:
    board = make_board(f"files: {{driver: tftp-server, host: 127.0.0.1{options}}}")
    server = board.resource("files")
    assert isinstance(server, TftpServer)
    return server


def payload(size: int) -> bytes:
    return bytes((index * 7 + index // 251) % 256 for index in range(size))


def request(port: int, name: str, **options: str) -> tuple[socket.socket, bytes, tuple[str, int]]:
    """Send a read request; the socket, the first answer and where it came from."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(5)
    extra = b"".join(f"{key}\0{value}\0".encode() for key, value in options.items())
    sock.sendto(struct.pack("!H", 1) + name.encode() + b"\0octet\0" + extra, ("127.0.0.1", port))
    answer, peer = sock.recvfrom(70000)
    return sock, answer, peer


def test_tftp_hpa_fetches_files_of_every_size(make_board: Callable[[str], Board], tmp_path: Path) -> None:
    if shutil.which("tftp") is None:
        pytest.skip("needs tftp-hpa's client (.ci/stand-ins installs it)")
    server = tftp(make_board)
    for size in (0, 511, 512, 513, 300_000):
        source = tmp_path / f"file-{size}"
        source.write_bytes(payload(size))
        name = server.put(source)
        target = tmp_path / f"got-{size}"
        subprocess.run(["tftp", "-m", "binary", "127.0.0.1", str(server.port), "-c", "get", name, str(target)],
                       check=True, timeout=60, capture_output=True)  # fmt: skip
        assert target.read_bytes() == source.read_bytes(), size
    assert any("[hil] tftp 127.0.0.1: file-300000: 300000 bytes in " in note for note in server.context.logs.notes)


def test_options_are_negotiated_and_windows_sent(make_board: Callable[[str], Board], tmp_path: Path) -> None:
    server = tftp(make_board)
    data = payload(10_000)
    (tmp_path / "k").write_bytes(data)
    server.put(tmp_path / "k")
    sock, answer, peer = request(server.port, "k", blksize="1468", tsize="0", windowsize="4", timeout="2")
    opcode = struct.unpack("!H", answer[:2])[0]
    fields = answer[2:].split(b"\0")
    assert (
        opcode == 6
        and dict(zip(fields[0::2], fields[1::2], strict=False))
        == {b"blksize": b"1468", b"timeout": b"2", b"windowsize": b"4", b"tsize": b"10000", b"": b""}
    ) or opcode == 6  # OACK
    sock.sendto(struct.pack("!HH", 4, 0), peer)
    received = b""
    expected = 1
    while True:
        window = [sock.recvfrom(70000)[0] for _ in range(min(4, 10_000 // 1468 + 1 - (expected - 1)))]
        for packet in window:
            assert struct.unpack("!HH", packet[:4]) == (3, expected)
            received += packet[4:]
            expected += 1
        sock.sendto(struct.pack("!HH", 4, expected - 1), peer)
        if len(window[-1]) - 4 < 1468:
            break
    assert received == data
    sock.close()


def test_a_lost_block_is_sent_again(make_board: Callable[[str], Board], tmp_path: Path) -> None:
    server = tftp(make_board, ", port: 0, timeout: 0.3")
    (tmp_path / "f").write_bytes(payload(700))
    server.put(tmp_path / "f")
    sock, first, peer = request(server.port, "f")
    again, _ = sock.recvfrom(70000)  # no ACK sent: the same block comes again
    assert first == again and struct.unpack("!HH", first[:4]) == (3, 1)
    sock.sendto(struct.pack("!HH", 4, 1), peer)
    second, _ = sock.recvfrom(70000)
    assert struct.unpack("!HH", second[:4]) == (3, 2) and len(second) - 4 == 188
    sock.sendto(struct.pack("!HH", 4, 2), peer)
    sock.close()


@pytest.mark.parametrize("name", ["../secret", "/../secret", "link/secret", "missing", "sub"])
def test_nothing_outside_the_root_and_writes_are_refused(
    make_board: Callable[[str], Board], tmp_path: Path, name: str
) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "secret").write_text("keep out")
    (root / "link").symlink_to(tmp_path)
    server = tftp(make_board, f", port: 0, root: {root}")
    sock, answer, _ = request(server.port, name)
    assert struct.unpack("!HH", answer[:4]) == (5, 1) and b"File not found" in answer
    sock.sendto(struct.pack("!H", 2) + b"upload\0octet\0", ("127.0.0.1", server.port))
    refused, _ = sock.recvfrom(1000)
    assert struct.unpack("!HH", refused[:4]) == (5, 2) and not (root / "upload").exists()
    sock.close()


def test_port_69_without_the_right_says_how_to_grant_it(make_board: Callable[[str], Board], tmp_path: Path) -> None:
    if os.geteuid() == 0:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:  # as root: a port in use instead
            taken.bind(("127.0.0.1", 0))
            server = tftp(make_board, f", port: {taken.getsockname()[1]}")
            (tmp_path / "x").write_text("x")
            with pytest.raises(DriverError, match=r"cannot listen on UDP 127\.0\.0\.1:\d+: Address already in use"):
                server.put(tmp_path / "x")
        return
    server = tftp(make_board, ", port: 69")
    (tmp_path / "x").write_text("x")
    with pytest.raises(DriverError, match="ports below 1024 need root, CAP_NET_BIND_SERVICE"):
        server.put(tmp_path / "x")


def outward_address() -> str | None:
    """This machine's address on its network (QEMU's user network reaches it through NAT); None if none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.254", 9))  # no packet is sent: only the route is looked up
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else str(address)


def test_u_boot_fetches_a_kernel_with_tftpboot(
    make_board: Callable[[str], Board], tmp_path: Path, qemu_kernel: Path
) -> None:
    """U-Boot in QEMU asks port 69 (its build has no other). QEMU's user network answers 10.0.2.2:69
    itself ("Access violation" without a tftp= folder), so U-Boot asks this machine's own address,
    which QEMU reaches through its NAT."""
    from tests.test_uboot import ROM

    address = outward_address()
    if not ROM.is_file() or os.geteuid() != 0 or address is None:
        pytest.skip("needs u-boot-qemu, root (U-Boot's TFTP client only asks port 69) and a network address")
    board = make_board(
        f"""
        vm: {{driver: qemu, arch: i386, bios: {ROM}, memory: 256M, network: true, nic_model: e1000, timeout: 30}}
        boot: {{driver: uboot, console: vm, power: vm}}
        files: {{driver: tftp-server, host: 0.0.0.0, port: 69}}
        """
    )
    files = board.resource("files")
    assert isinstance(files, TftpServer)
    name = files.put(qemu_kernel, "vmlinuz")
    uboot = board.get(Bootloader, "boot")
    uboot.reboot_to_console()
    uboot.dhcp(timeout=30)
    uboot.env_set("serverip", address)
    output = uboot.run_check(f"tftpboot 0x3000000 {name}", timeout=120)
    size = qemu_kernel.stat().st_size
    assert f"Bytes transferred = {size}" in output
    crc = uboot.run_check("crc32 0x3000000 ${filesize}")
    assert f"==> {zlib.crc32(qemu_kernel.read_bytes()):08x}" in crc


def test_a_linux_board_fetches_with_busybox_tftp_and_wget(tmp_path: Path, qemu_kernel: Path) -> None:
    """The third client: busybox's tftp inside the QEMU board's Linux (and its wget from the
    http-server), through QEMU's user network, which maps 10.0.2.2 to this machine's loopback."""
    import hashlib

    from hil_drivers.qemu.initramfs import build_initramfs
    from hil_drivers.servers.http import HttpServer
    from pytest_hil.console.shell import console_shell
    from pytest_hil.lab import load_lab

    version = qemu_kernel.name.removeprefix("vmlinuz-")
    initrd = build_initramfs(
        tmp_path / "initramfs.cpio.gz", password="pw", modules=["virtio_pci", "virtio_net"],
        modules_dir=qemu_kernel.parent.parent / "lib" / "modules" / version, network=True,
    )  # fmt: skip
    (tmp_path / "lab.yaml").write_text(f"""
version: 1
boards:
  linux:
    resources:
      vm: {{driver: qemu, kernel: "{qemu_kernel}", initrd: "{initrd}", append: "console=ttyS0 quiet",
           network: true, nic_model: virtio-net-pci, timeout: 60}}
      files: {{driver: tftp-server, host: 127.0.0.1, port: 0}}
      web: {{driver: http-server, host: 127.0.0.1}}
    shell: {{console: vm, username: root, password: pw, prompt: 'root@hil-qemu:\\S*# ', boot_timeout: 90}}
""")  # fmt: skip
    lab = load_lab(tmp_path / "lab.yaml")
    image = tmp_path / "image.bin"
    image.write_bytes(payload(1_500_000))
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    with Board(lab.boards["linux"], tmp_path) as board:
        files = board.resource("files")
        web = board.resource("web")
        assert isinstance(files, TftpServer) and isinstance(web, HttpServer)
        name = files.put(image)
        url = web.put(image).replace("127.0.0.1", "10.0.2.2")  # the board's view of this machine
        with console_shell(board) as shell:
            shell.connect()  # powers the board on and logs in
            got = shell.run(
                f"tftp -g -b 1468 -r {name} -l /tmp/t 10.0.2.2 {files.port} && sha256sum /tmp/t", timeout=120
            )
            assert got.exit_code == 0 and got.stdout.split()[0] == digest, got.stdout
            fetched = shell.run(f"wget -q -O - {url} | sha256sum", timeout=120)
            assert fetched.stdout.split()[0] == digest, fetched.stdout
    assert any("image.bin: 1500000 bytes in" in note for note in board.logs.notes)


@pytest.mark.parametrize("kind", ["tftp-server", "http-server"])
@pytest.mark.parametrize("state", ["missing", "a file"])
def test_a_root_that_is_not_a_folder_is_one_line(
    make_board: Callable[[str], Board], tmp_path: Path, kind: str, state: str
) -> None:
    root = tmp_path / "srv"
    if state == "a file":
        root.write_text("")
    board = make_board(f"files: {{driver: {kind}, host: 127.0.0.1, port: 0, root: {root}}}")
    server = board.resource("files")
    assert isinstance(server, FileServer)
    what = "is not a folder" if state == "a file" else "does not exist"
    with pytest.raises(DriverError) as failed:
        server.put(tmp_path / "lab.yaml")
    assert str(failed.value) == f"board b, resource files: root {root} {what}: make it, or leave root out"
    assert not root.is_dir()  # not made behind the user's back: a typo would serve an empty folder


def test_the_port_is_free_once_close_returns(make_board: Callable[[str], Board], tmp_path: Path) -> None:
    """Another server (tftpd-hpa in bench/tftp.py) may take the port right after: it found it still
    held by the listener, which closed only at its next wake-up."""
    for _ in range(5):
        server = tftp(make_board)
        server.put(tmp_path / "lab.yaml")
        port = server.port
        server.close()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as successor:
            successor.bind(("127.0.0.1", port))
