"""HTTP client side (aiohttp): JSON requests to the XUC REST API.

Maps aiohttp and socket errors onto ``xctest.errors`` so callers never see library exceptions.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from xctest.errors import ConnectError
from xctest.transport.tls import refusal

DEFAULT_TIMEOUT = 5.0  # the official front-end's timeout for the auth calls (PROTOCOL.md §1.2)


@dataclass(frozen=True)
class JsonResponse:
    """Status and body of one JSON exchange; ``body`` is None when it was not JSON."""

    status: int
    body: Any
    text: str


async def request_json(
    method: str,
    url: str,
    *,
    body: object = None,
    headers: Mapping[str, str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> JsonResponse:
    """Send one request (``body`` JSON-encoded when given) and read the reply.

    Raises ``ConnectError`` naming the URL when the server cannot be reached or does not answer
    within ``timeout``; any HTTP status is returned, not raised.
    """
    send_headers = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body)
        send_headers.setdefault("Content-Type", "application/json")
    ssl_arg: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.request(
                method,
                url,
                data=data,
                headers=send_headers,
                ssl=ssl_arg if url.startswith("https://") else False,
            ) as resp,
        ):
            text = await resp.text(errors="replace")
            status = resp.status
    except aiohttp.ClientConnectorCertificateError as exc:
        error = exc.certificate_error
        if isinstance(error, ssl.SSLCertVerificationError):
            raise ConnectError(f"{method} {refusal(url, error)}") from exc
        raise ConnectError(f"{method} {url}: TLS certificate not accepted ({error})") from exc
    except (aiohttp.ClientError, OSError, TimeoutError, ssl.SSLError) as exc:
        raise ConnectError(f"{method} {url}: cannot reach the server ({exc!r})") from exc
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    return JsonResponse(status, parsed, text)
