"""The simulator in a process of its own, as the benchmarks start it: ``xctest sim`` with a
lab file, on ephemeral loopback ports, pinned to the cores the caller does not use."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from xctest.sim import Lab, User


def lab_for(users: int, first: int = 20000) -> Lab:
    """``users`` lab users u0, u1 ... numbered from ``first``, password p, line secret s<i>."""
    made = []
    for i in range(users):
        number = str(first + i)
        made.append(
            User(
                login=f"u{i}",
                password="p",
                number=number,
                firstname="U",
                lastname=str(i),
                line_name=f"wr{number}",
                line_password=f"s{i}",
            )
        )
    return Lab(users=tuple(made))


def start_sim_process(
    lab: Lab, folder: Path, codec: str | None = None
) -> tuple[subprocess.Popen[str], str]:
    """Start ``xctest sim`` with ``lab``; its SIP websocket URL once it serves.  Stop it with
    ``terminate()`` (SIGTERM)."""
    (folder / "lab.yaml").write_text(yaml.safe_dump(lab.model_dump(mode="json")))
    mine = os.sched_getaffinity(0)
    others = (set(range(os.cpu_count() or 1)) - mine) or mine
    argv = [sys.executable, "-m", "xctest", "sim", "--lab", str(folder / "lab.yaml")]
    argv += ["--sip-port", "0", "--http-port", "0"]
    if codec:
        argv += ["--codec", codec]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, others),
    )
    assert proc.stdout is not None
    url = ""
    for line in proc.stdout:
        found = re.search(r"SIP over WebSocket : (ws://\S+)", line)
        if found:
            url = found.group(1)
        if line.startswith("Ctrl-C to stop."):
            break
    if not url:
        proc.kill()
        raise RuntimeError("the simulator process did not start")
    return proc, url
