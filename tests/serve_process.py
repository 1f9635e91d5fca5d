"""A real `u2net-hf serve` for tests and benchmarks: started as a subprocess on 127.0.0.1 on a free port, waited
for through `/healthz`, stopped at the end."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """
    `command ... --host 127.0.0.1 --port PORT` in a subprocess (by default `python -m u2net_hf serve`), its
    output in a log file; `url` is where it answers.
    """

    def __init__(self, *args: str, command: list[str] | None = None, env: dict | None = None, health="/healthz"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.health = health
        command = command or [sys.executable, "-m", "u2net_hf", "serve"]
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - open for the life of the process
            "w+", prefix="u2net-hf-serve-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(self.port), *args],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            env={**os.environ, **(env or {})},
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 180) -> ServerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url + self.health, timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not answer {self.health} within {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def __enter__(self) -> ServerProcess:
        return self.wait_ready()

    def __exit__(self, *exc) -> None:
        self.stop()
