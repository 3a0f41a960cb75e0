"""A stand-in for esptool's Python API (`main(argv)`): checks the arguments as esptool does and answers
in its output format, for an ESP chip on a port of `DEVICES` (port -> chip name; its flash in FLASH)."""

from __future__ import annotations

__version__ = "5.6.0-fake"

DEVICES: dict[str, str] = {}
FLASH: dict[str, dict[int, bytes]] = {}
CALLS: list[list[str]] = []
#: "mismatch": the chip's hash of what it wrote differs from the file's.
VERIFY = {"result": "ok"}


class FatalError(RuntimeError):
    """esptool's own error class."""


def main(argv: list[str]) -> None:
    CALLS.append(list(argv))
    args = list(argv)

    def option(name: str) -> str:
        index = args.index(name)
        args.pop(index)
        return args.pop(index)

    chip, port, baud = option("--chip"), option("--port"), int(option("--baud"))
    before, after = option("--before"), option("--after")
    assert (before, after) == ("default-reset", "hard-reset"), (before, after)
    command, rest = args[0], args[1:]
    print(f"esptool v{__version__}")
    print(f"Serial port {port}:")
    if port not in DEVICES:
        raise FatalError(
            f"Could not open {port}, the port is busy or doesn't exist.\n([Errno 2] could not open port {port}: "
            f"[Errno 2] No such file or directory: '{port}')\n\nHint: Check if the port is correct and ESP connected\n"
        )
    found = DEVICES[port]
    print("Connecting....")
    if chip not in ("auto", found):
        raise FatalError(f"This chip is {found.upper()}, not {chip.upper()}. Wrong chip argument?")
    print(f"Connected to {found.upper()} on {port}:")
    print(f"Changing baud rate to {baud}...")
    if command == "write-flash":
        pairs = list(zip(rest[::2], rest[1::2], strict=True))
        for address_text, path in pairs:
            address = int(address_text, 16)
            with open(path, "rb") as image:
                data = image.read()
            for percent in (0, 50, 100):
                print(
                    f"Writing at 0x{address + len(data) * percent // 100:08x} [{'=' * (percent // 10):<10}] {percent:5.1f}%",
                    end="\r",
                )
            print(f"\nWrote {len(data)} bytes ({len(data) // 2} compressed) at 0x{address:08x} in 0.1 seconds.")
            if VERIFY["result"] == "mismatch":
                raise FatalError("MD5 of file does not match data in flash!")
            FLASH.setdefault(port, {})[address] = data
            print("Hash of data verified.")
    elif command == "erase-flash":
        print("Erasing flash memory (this may take a while)...")
        FLASH[port] = {}
        print("Flash memory erased successfully in 2.1 seconds.")
    elif command == "run":
        pass
    else:
        raise SystemExit(2)
    print("Hard resetting via RTS pin...")
