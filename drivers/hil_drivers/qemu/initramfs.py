"""A tiny Linux userland for the QEMU board: busybox, init, getty on the serial console, a root login.

`build_initramfs()` needs only a static busybox (Debian: busybox-static); it is what the test fixtures
and the example QEMU lab boot with a distribution kernel.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

INITTAB = """\
::sysinit:/etc/init.d/rcS
{console}::respawn:/bin/getty -L 115200 {console} vt100
::ctrlaltdel:/bin/reboot
::shutdown:/bin/umount -a -r
"""
RCS = """\
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /tmp /root && mount -t devpts devpts /dev/pts
hostname {hostname}
for module in /lib/modules/*.ko; do [ -e "$module" ] && insmod "$module"; done
"""
#: QEMU's user network: the guest is 10.0.2.15, the host 10.0.2.2 (reached by hostfwd rules).
NETWORK = """\
ip link set lo up
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2
"""
PROFILE = "export PS1='root@{hostname}:\\w# '\nexport PATH=/bin:/sbin:/usr/bin:/usr/sbin\ncd /root\n"


def find_busybox() -> str | None:
    """A statically linked busybox on this machine, if any."""
    for candidate in (shutil.which("busybox"), "/bin/busybox", "/usr/bin/busybox"):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def build_initramfs(
    dest: Path,
    password: str | None = None,
    hostname: str = "hil-qemu",
    console: str = "ttyS0",
    busybox: str | None = None,
    modules: Sequence[str] = (),
    modules_dir: Path | None = None,
    binaries: Sequence[Path] = (),
    network: bool = False,
    services: Sequence[str] = (),
    files: Sequence[tuple[Path, str]] = (),
) -> Path:
    """Write a gzip'd newc cpio initramfs to `dest`; root logs in with `password` (None: no password).

    `modules` (e.g. `virtio_blk` for the board's disk) are taken with what they depend on from the
    kernel's `modules_dir` (`/lib/modules/<version>`) and loaded at boot. `binaries` are host programs
    copied with the shared libraries `ldd` names (the guest runs this machine's architecture), e.g.
    Debian's dropbear for an SSH server; `network` brings eth0 up for QEMU's user network (load its
    driver, e.g. virtio_net, through `modules`); `services` are shell lines run at the end of boot,
    such as `dropbear -R -B`; `files` are (host file, absolute path in the image) pairs, copied with
    their mode.
    """
    busybox = busybox or find_busybox()
    if busybox is None:
        raise FileNotFoundError("no busybox found: install Debian's busybox-static")
    root = dest.with_suffix(".root")
    shutil.rmtree(root, ignore_errors=True)
    for folder in (
        "bin",
        "sbin",
        "etc/init.d",
        "proc",
        "sys",
        "dev",
        "tmp",
        "root",
        "lib/modules",
        "usr/bin",
        "usr/sbin",
    ):
        (root / folder).mkdir(parents=True, exist_ok=True)
    if modules:
        if modules_dir is None:
            raise ValueError("modules need modules_dir: the kernel's /lib/modules/<version> folder")
        for index, module in enumerate(module_load_order(modules_dir, modules)):
            shutil.copy2(module, root / "lib" / "modules" / f"{index:03d}-{module.name}")
    for binary in binaries:
        for path in (binary, *_shared_libraries(binary)):
            target = root / path.relative_to("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    for source, inside in files:
        target = root / inside.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    shutil.copy2(busybox, root / "bin" / "busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        link = root / "bin" / applet
        if not link.exists():
            link.symlink_to("busybox")
    (root / "init").symlink_to("bin/busybox")
    (root / "etc" / "inittab").write_text(INITTAB.format(console=console))
    rcs = root / "etc" / "init.d" / "rcS"
    rcs.write_text(
        RCS.format(hostname=hostname) + (NETWORK if network else "") + "".join(f"{line}\n" for line in services)
    )
    rcs.chmod(0o755)
    (root / "etc" / "profile").write_text(PROFILE.format(hostname=hostname))
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
    hashed = "" if password is None else _crypt(busybox, password)
    shadow = root / "etc" / "shadow"
    shadow.write_text(f"root:{hashed}:19000:0:99999:7:::\n")
    shadow.chmod(0o600)
    listing = subprocess.run(["find", "."], cwd=root, capture_output=True, check=True).stdout
    archive = subprocess.run(
        [busybox, "cpio", "-o", "-H", "newc", "-R", "0:0"], cwd=root, input=listing, capture_output=True, check=True
    ).stdout
    dest.write_bytes(gzip.compress(archive, compresslevel=6))
    shutil.rmtree(root)
    return dest


def _shared_libraries(binary: Path) -> list[Path]:
    """The libraries (and loader) `binary` needs, as `ldd` resolves them on this machine."""
    listing = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    found = []
    for line in listing.splitlines():
        parts = line.split()
        path = (
            parts[2] if "=>" in parts and len(parts) > 2 else parts[0] if parts and parts[0].startswith("/") else None
        )
        if path and path.startswith("/"):
            found.append(Path(path))
    return found


def module_load_order(modules_dir: Path, wanted: Sequence[str]) -> list[Path]:
    """The `.ko` files of `wanted` and their dependencies (from each module's `depends=` modinfo),
    dependencies first."""
    files = {path.name.removesuffix(".ko").replace("-", "_"): path for path in modules_dir.rglob("*.ko")}
    ordered: list[Path] = []

    def visit(name: str) -> None:
        path = files.get(name.replace("-", "_"))
        if path is None:
            raise FileNotFoundError(f"kernel module {name} is not in {modules_dir} (built in, or another kernel?)")
        if path in ordered:
            return
        for dependency in _modinfo(path, "depends"):
            visit(dependency)
        ordered.append(path)

    for name in wanted:
        visit(name)
    return ordered


def _modinfo(module: Path, key: str) -> list[str]:
    """A comma-separated modinfo field of a `.ko` (its .modinfo section holds NUL-ended key=value)."""
    data = module.read_bytes()
    start = data.find(b"\0" + key.encode() + b"=")
    if start < 0:
        return []
    value = data[start + len(key) + 2 : data.index(b"\0", start + 1)].decode()
    return [name for name in value.split(",") if name]


def _crypt(busybox: str, password: str) -> str:
    result = subprocess.run([busybox, "mkpasswd", "-m", "sha512", password], capture_output=True, text=True, check=True)
    return result.stdout.strip()
