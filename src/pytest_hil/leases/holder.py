"""Who holds a lease: user, host, process and CI job, as other lab users see it."""

from __future__ import annotations

import json
import os
import pwd
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from pytest_hil.text import printable

#: Environment variables naming the CI job a process runs for, in the order they are looked at.
CI_JOB_VARIABLES = ("CI_JOB_ID", "GITHUB_RUN_ID", "BUILD_TAG", "BUILDKITE_JOB_ID", "CIRCLE_WORKFLOW_JOB_ID")


@dataclass(frozen=True)
class Holder:
    user: str
    host: str
    pid: int
    job: str | None = None

    @classmethod
    def this_process(cls, environ: Mapping[str, str] | None = None) -> Holder:
        """This process as a holder, with the CI job from the environment when there is one."""
        environ = os.environ if environ is None else environ
        job = next((f"{name}={environ[name]}" for name in CI_JOB_VARIABLES if environ.get(name)), None)
        try:  # the account this process runs as, whatever $USER or $LOGNAME claim
            user = pwd.getpwuid(os.getuid()).pw_name
        except KeyError:
            user = str(os.getuid())
        return cls(user, socket.gethostname(), os.getpid(), job)

    def __str__(self) -> str:
        text = f"{self.user}@{self.host} pid {self.pid}" + (f" ({self.job})" if self.job else "")
        return printable(text)  # another holder's fields could carry escape sequences

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Holder:
        return cls(**json.loads(text))
