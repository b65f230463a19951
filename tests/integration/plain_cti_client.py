"""A XUC CTI client written from PROTOCOL.md §1.2–§2 alone: the standard library for the REST
login and the ``websockets`` package for the CTI channel.  It imports nothing from xctest, so
a simulator that satisfies it speaks the documented protocol, not only xctest's dialect."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import websockets


def _post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def login(base: str, user: str, password: str) -> tuple[int, dict]:
    """POST /xuc/api/2.0/auth/login → (status, body)."""
    body = {"login": user, "password": password}
    return await asyncio.to_thread(_post, f"{base}/xuc/api/2.0/auth/login", body)


class PlainCti:
    def __init__(self, ws) -> None:
        self.ws = ws
        self.received: list[dict] = []

    @classmethod
    async def open(cls, base: str, token: str) -> PlainCti:
        url = base.replace("http://", "ws://", 1) + f"/xuc/api/2.0/cti?token={token}"
        return cls(await websockets.connect(url))

    async def send(self, frame: dict) -> None:
        await self.ws.send(json.dumps(frame))

    async def next_of(self, msg_type: str, timeout: float = 10.0) -> dict:
        """The next frame with that msgType (earlier frames of other types are kept)."""
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await self.ws.recv())
                self.received.append(frame)
                if frame.get("msgType") == msg_type:
                    return frame

    async def close(self) -> None:
        await self.ws.close()
