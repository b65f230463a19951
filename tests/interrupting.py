"""Press Ctrl-C on a command at a chosen moment: run it, read its output until a line holding
``marker`` appears, send SIGINT, and collect the rest.  The command is killed if it has not
ended ``timeout`` seconds after it started (so a command that ignores Ctrl-C fails the test
instead of hanging it)."""

from __future__ import annotations

import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Interrupted:
    returncode: int
    before: str  # stdout up to and including the marker's line
    after: str  # stdout after it
    stderr: str
    killed: bool  # it outlived the timeout


def interrupt_at(
    command: list[str], marker: str, *, cwd: Path | None = None, timeout: float = 60
) -> Interrupted:
    """SIGINT once ``marker`` is in a stdout line (never sent if the command ends first)."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a job started in the background inherits SIGINT ignored, and Python then leaves it
        # ignored: give the command the default, as a terminal would
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    errors: list[str] = []
    drain = threading.Thread(target=lambda: errors.append(proc.stderr.read()))  # type: ignore[union-attr]
    drain.start()  # stderr is read alongside, so a chatty command never blocks on it
    before: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            before.append(line)
            if marker in line:
                proc.send_signal(signal.SIGINT)
                break
        after = proc.stdout.read()  # the same buffered reader: no line is lost
        proc.wait()
        drain.join()
    finally:
        killer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    killed = proc.returncode == -signal.SIGKILL
    return Interrupted(proc.returncode, "".join(before), after, "".join(errors), killed)
