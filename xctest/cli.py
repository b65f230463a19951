"""``xctest`` command line: ``sim`` (run the built-in XiVO simulator).

Thin composition root: parses arguments, configures logging, wires the layers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence

from xctest import __version__
from xctest.errors import XctestError
from xctest.sim import SimConfig, Simulator, default_lab, load_lab


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xctest", description="Call testing for XiVO.")
    parser.add_argument("--version", action="version", version=f"xctest {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("sim", help="run the built-in XiVO simulator until Ctrl-C")
    sim.add_argument("--lab", help="lab YAML file (default: the built-in lab)")
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sim.add_argument("--sip-port", type=int, default=5039, help="SIP over WebSocket port")
    sim.add_argument("--http-port", type=int, default=8090, help="XUC HTTP port")
    sim.add_argument("--tls", action="store_true", help="also serve wss:// (self-signed cert)")
    sim.add_argument("--tls-port", type=int, default=8443, help="TLS port (with --tls)")
    sim.add_argument("--print-lab", action="store_true", help="print the effective lab as YAML")
    return parser


async def _run_sim(args: argparse.Namespace) -> int:
    lab = load_lab(args.lab) if args.lab else default_lab()
    if args.print_lab:
        sys.stdout.write(lab.to_yaml())
        return 0
    media = (args.host,) if args.host not in ("0.0.0.0", "::") else None
    config = SimConfig(
        host=args.host,
        sip_port=args.sip_port,
        http_port=args.http_port,
        media_addresses=media,
        tls_port=args.tls_port if args.tls else None,
    )
    sim = Simulator(lab, config)
    try:
        await sim.start()
    except OSError as exc:
        print(f"xctest sim: cannot listen: {exc}", file=sys.stderr)
        return 2
    print(sim.describe(), flush=True)
    print("Ctrl-C to stop.", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.aclose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "sim":
            with contextlib.suppress(KeyboardInterrupt):
                return asyncio.run(_run_sim(args))
            return 0
    except XctestError as exc:
        print(f"xctest: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
