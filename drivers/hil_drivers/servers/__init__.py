"""File servers on the machine the boards hang on, for what boards fetch over the network (images, a
kernel for network boot): HTTP and TFTP servers; each a resource, started when first used."""

from __future__ import annotations

from collections.abc import Sequence

from hil_drivers.servers.http import HttpServer
from hil_drivers.servers.tftp import TftpServer
from pytest_hil import hookimpl
from pytest_hil.interfaces import Driver


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    return [HttpServer, TftpServer]
