"""What every server binary a test starts shares: wait until it serves, keep its log, always stop.

``PrometheusServer`` (tests/prom_server.py), ``AlertmanagerServer`` (tests/am_server.py) and the
VictoriaMetrics processes (tests/vm_server.py) start their own binaries with their own flags on
127.0.0.1; readiness, stopping (SIGTERM, then SIGKILL after a bounded wait) and reading the log
are the same for all of them and live here.
"""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

STOP_TIMEOUT = 10.0  # seconds to wait after SIGTERM before SIGKILL


class ChildProcess:
    """A child process with a log file whose ``url + ready_path`` answers 200 once it serves."""

    process: subprocess.Popen[bytes] | None
    log_path: Path
    ready_path = "/-/ready"

    @property
    def url(self) -> str:
        raise NotImplementedError

    def _wait_ready(self, deadline: float) -> bool:
        """Poll until ready (True), the process exits or the deadline passes (False)."""
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=1.0) as answer:
                    if answer.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""
