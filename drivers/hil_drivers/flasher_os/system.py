"""The flasher OS: a busybox initramfs whose init fetches an image over HTTP and writes it to a disk
(or writes zeros over all of it), as the kernel command line says (`hil.url`, `hil.target`, `hil.size`,
`hil.unpack`, `hil.erase`), then reads the disk back and prints its sha256 on the console for the
`flasher-os` driver to compare.

    build_flasher_initramfs(Path("flasher.cpio.gz"), modules_dir=Path("/lib/modules/6.1.0-28-amd64"),
                            modules=["virtio_blk", "virtio_pci", "e1000"])
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Sequence
from pathlib import Path

from hil_drivers.qemu.initramfs import build_initramfs

#: The lines the driver waits for; nothing else on the console starts with it.
MARK = "HIL-FLASHER:"

FLASHER = r"""#!/bin/sh
# pytest-hil's flasher: HTTP -> (unpack) -> disk, then the disk read back through sha256sum
say() { echo "HIL-FLASHER: $*"; }
for word in $(cat /proc/cmdline); do
    case "$word" in
        hil.url=*) url=${word#hil.url=} ;;
        hil.target=*) target=${word#hil.target=} ;;
        hil.size=*) size=${word#hil.size=} ;;
        hil.unpack=*) unpack=${word#hil.unpack=} ;;
        hil.iface=*) iface=${word#hil.iface=} ;;
        hil.erase=1) erase=1 ;;
    esac
done
if [ -z "$target" ] || { [ -z "$erase" ] && { [ -z "$url" ] || [ -z "$size" ]; }; }; then
    say "error the kernel command line lacks hil.url, hil.target or hil.size"; exit 0
fi
iface=${iface:-eth0}
ip link set lo up
ip link set "$iface" up 2>/dev/null || { say "error no network interface $iface"; exit 0; }
udhcpc -i "$iface" -q -n -t 10 -s /etc/hil-udhcpc >/dev/null 2>&1 || { say "error no DHCP answer on $iface"; exit 0; }
[ -e "$target" ] || { say "error $target does not exist on the board"; exit 0; }
if [ -b "$target" ]; then
    capacity=$(( $(cat "/sys/class/block/${target##*/}/size") * 512 ))
    [ -n "$erase" ] && size=$capacity
    [ "$size" -le "$capacity" ] || { say "error the image is $size bytes, $target holds $capacity"; exit 0; }
elif [ -n "$erase" ]; then
    say "error $target is not a disk: only disks are erased"; exit 0
fi
if [ -n "$erase" ]; then fetch="head -c $size /dev/zero"; else fetch="wget -q -O - $url"; fi
case "$unpack" in
    gz) unpack="gunzip -c" ;;
    xz) unpack="xzcat" ;;
    bz2) unpack="bunzip2 -c" ;;
    *) unpack="cat" ;;
esac
say "writing $size bytes to $target"
set -o pipefail
if ! $fetch 2>/tmp/wget.err | $unpack 2>/tmp/unpack.err | dd of="$target" bs=1M 2>/tmp/dd.err; then
    say "error writing $target: $(cat /tmp/wget.err /tmp/unpack.err /tmp/dd.err | grep -v records | tail -n 1)"
    exit 0
fi
sync
echo 3 > /proc/sys/vm/drop_caches
digest=$(head -c "$size" "$target" | sha256sum)
read_back=$(head -c "$size" "$target" | wc -c)
say "done sha256=${digest%% *} bytes=$read_back"
"""

#: udhcpc's script: apply the lease it got (busybox leaves that to a script).
UDHCPC = r"""#!/bin/sh
case "$1" in
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        [ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
        ;;
esac
exit 0
"""


def build_flasher_initramfs(
    dest: Path, modules_dir: Path | None = None, modules: Sequence[str] = (), busybox: str | None = None
) -> Path:
    """Write the flasher OS's initramfs to `dest`: busybox, the `modules` the board's disk and network
    card need (with what they depend on, from `modules_dir`), and the flasher run at the end of boot."""
    with tempfile.TemporaryDirectory() as folder:
        scripts = {"/bin/hil-flasher": FLASHER, "/etc/hil-udhcpc": UDHCPC}
        files = []
        for target, text in scripts.items():
            path = Path(folder) / Path(target).name
            path.write_text(text)
            path.chmod(0o755)
            files.append((path, target))
        return build_initramfs(
            dest,
            password=secrets.token_urlsafe(24),  # nobody logs in: the console is the flasher's
            hostname="hil-flasher",
            busybox=busybox,
            modules=modules,
            modules_dir=modules_dir,
            files=files,
            services=["/bin/hil-flasher"],
        )
