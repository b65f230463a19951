"""``xctest`` command line: ``run`` (run scenario files, write a report), ``check`` (a XiVO
step by step, then one test call), ``sim`` (run the built-in XiVO simulator), ``validate``
(check scenario files without placing a call), ``report`` (one HTML page from JSON-lines
reports) and ``schema`` (the scenario JSON Schema).

Thin composition root: parses arguments, configures logging, wires the layers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from xctest import __version__
from xctest.check import check_target
from xctest.errors import ScenarioError, XctestError
from xctest.heap import settled
from xctest.scenario import SCENARIO_SUFFIX, Scenario, json_schema, load_scenarios
from xctest.scenario.report import (
    ReportWriter,
    ScenarioResult,
    summary_table,
    write_html,
    write_junit,
)
from xctest.scenario.runner import new_result, run_scenario
from xctest.scenario.target import Target, load_target
from xctest.scenario.xivo import Xivo
from xctest.sim import SimConfig, Simulator, default_lab, load_lab
from xctest.transport.tls import load_certificate

INTERRUPTED = 130  # the shell's status for a run stopped by Ctrl-C (128 + SIGINT)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xctest", description="Call testing for XiVO.")
    parser.add_argument("--version", action="version", version=f"xctest {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("sim", help="run the built-in XiVO simulator until Ctrl-C")
    sim.add_argument("--lab", help="lab YAML file (default: the built-in lab)")
    sim.add_argument("--host", default="127.0.0.1", help="XUC's address (HTTP, and TLS)")
    sim.add_argument("--sip-port", type=int, default=5039, help="SIP over WebSocket port")
    sim.add_argument(
        "--sip-host", help="the Asterisk-like SIP websocket's address (default: --host)"
    )
    sim.add_argument(
        "--xivo-ip", help="what LineConfig.xivoIp says (default: the SIP websocket's address)"
    )
    sim.add_argument(
        "--media-address",
        action="append",
        metavar="ADDR",
        help="an address the PBX's media gathers on (repeatable; default: --host)",
    )
    sim.add_argument(
        "--codec",
        action="append",
        metavar="NAME",
        help="a codec the PBX's media offers and accepts, in order (repeatable: PCMU, PCMA, "
        "opus; default: aiortc's order, Opus first)",
    )
    sim.add_argument("--http-port", type=int, default=8090, help="XUC HTTP port")
    sim.add_argument("--tls", action="store_true", help="also serve https:// and wss://")
    sim.add_argument("--tls-port", type=int, default=8443, help="TLS port (with --tls)")
    sim.add_argument("--tls-cert", metavar="PEM", help="certificate to serve (default: made now)")
    sim.add_argument("--tls-key", metavar="PEM", help="the key of --tls-cert")
    sim.add_argument("--print-lab", action="store_true", help="print the effective lab as YAML")
    run = sub.add_parser("run", help="run scenario files and write a report")
    run.add_argument("paths", nargs="+", help=f"*{SCENARIO_SUFFIX} files or folders")
    run.add_argument("--target", help="target file: a real XiVO or simulator options")
    run.add_argument("--reports", default="reports", help="folder of the JSON-lines reports")
    run.add_argument("-k", dest="select", help="only scenarios whose name contains this")
    run.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    run.add_argument("--junitxml", metavar="FILE", help="also write JUnit XML (for CI servers)")
    check = sub.add_parser(
        "check",
        help="check a XiVO step by step (log-in, line, SIP, media) and place one test call",
    )
    check.add_argument("--target", help="target file (default: the built-in simulator)")
    check.add_argument(
        "--party",
        action="append",
        metavar="NAME",
        help="check this party (repeatable; default: every party of the target; the "
        "simulator: its first two users); the first two that log in make the test call",
    )
    check.add_argument("--no-call", action="store_true", help="no test call")
    validate = sub.add_parser("validate", help="check scenario files; no call is placed")
    validate.add_argument("paths", nargs="+", help=f"*{SCENARIO_SUFFIX} files or folders")
    sub.add_parser("schema", help="print the JSON Schema of scenario files (for editors)")
    report = sub.add_parser("report", help="one HTML page from JSON-lines reports")
    report.add_argument("reports", nargs="+", help="xctest-*.jsonl files (e.g. one per worker)")
    report.add_argument("-o", "--output", help="the page (default: the first report's .html)")
    report.add_argument("--junitxml", metavar="FILE", help="also write JUnit XML")
    return parser


def scenario_files(paths: Sequence[str]) -> list[Path]:
    """The scenario files named, and those below the folders named, in a stable order."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(p for p in path.rglob(f"*{SCENARIO_SUFFIX}") if p.is_file())
        else:
            found.append(path)
    return found


Loaded = list[tuple[Path, list[Scenario]]]


def _load_files(paths: Sequence[str], command: str) -> tuple[Loaded, int] | None:
    """Each valid scenario file with its scenarios, and how many files are invalid (their
    errors printed); None (said on stderr) when the paths hold no scenario file."""
    files = scenario_files(paths)
    if not files:
        print(f"xctest {command}: no *{SCENARIO_SUFFIX} file in {' '.join(paths)}", file=sys.stderr)
        return None
    loaded: Loaded = []
    for path in files:
        try:
            loaded.append((path, load_scenarios(path)))
        except ScenarioError as exc:
            print(exc, file=sys.stderr)
    return loaded, len(files) - len(loaded)


async def _run(args: argparse.Namespace) -> int:
    found = _load_files(args.paths, "run")
    if found is None:
        return 2
    loaded, bad = found
    if bad:
        print(f"{bad} invalid file(s); no call placed", file=sys.stderr)
        return 1
    scenarios = [s for _, some in loaded for s in some if not args.select or args.select in s.name]
    if not scenarios:
        print(f"xctest run: no scenario name contains {args.select!r}", file=sys.stderr)
        return 2
    target = load_target(args.target) if args.target else Target.default()
    writer = ReportWriter(args.reports)
    results: list[ScenarioResult] = []
    try:
        async with Xivo(target) as xivo:
            xivo.check_parties(p for s in scenarios for p in s.parties)
            print(f"{len(scenarios)} scenario(s) against {xivo.name}", flush=True)
            for scenario in scenarios:
                result = new_result(scenario)
                try:
                    await run_scenario(scenario, xivo, result=result)
                finally:  # a Ctrl-C goes on once the interrupted scenario is written
                    writer.write(result)
                    results.append(result)
                    line = f"{str(result.status).upper():<8} {result.seconds:6.1f}s  {result.name}"
                    print(line, flush=True)
                if not result.passed:
                    print(textwrap.indent(result.explain(), "    "), flush=True)
                    if args.exitfirst:
                        break
    finally:
        writer.close()
        print()
        print(summary_table(results))
        if results:
            print(f"report: {writer.path}")
            print(f"html:   {writer.html_path}")
            if args.junitxml:
                print(f"junit:  {write_junit([writer.path], args.junitxml)}")
    return 0 if results and all(r.passed for r in results) else 1


async def _check(args: argparse.Namespace) -> int:
    target = load_target(args.target) if args.target else Target.default()
    report = await check_target(target, args.party or (), call=not args.no_call)
    print(report.render(), flush=True)
    return 0 if report.passed else 1


def _validate(paths: Sequence[str]) -> int:
    found = _load_files(paths, "validate")
    if found is None:
        return 2
    loaded, bad = found
    for path, scenarios in loaded:
        print(f"ok  {path}  ({len(scenarios)} scenario{'s' if len(scenarios) != 1 else ''})")
    print(f"{len(loaded)} valid, {bad} invalid")
    return 1 if bad else 0


async def _run_sim(args: argparse.Namespace) -> int:
    lab = load_lab(args.lab) if args.lab else default_lab()
    if args.print_lab:
        sys.stdout.write(lab.to_yaml())
        return 0
    media = tuple(args.media_address or ())
    if not media:
        media = (args.host,) if args.host not in ("0.0.0.0", "::") else ()
    if bool(args.tls_cert) != bool(args.tls_key):
        print("xctest sim: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    try:
        certificate = load_certificate(args.tls_cert, args.tls_key) if args.tls_cert else None
    except (OSError, ValueError) as exc:
        print(f"xctest sim: cannot use {args.tls_cert}/{args.tls_key}: {exc}", file=sys.stderr)
        return 2
    config = SimConfig(
        host=args.host,
        sip_port=args.sip_port,
        http_port=args.http_port,
        media_addresses=media or None,
        codecs=tuple(args.codec or ()),
        tls_port=args.tls_port if args.tls else None,
        sip_host=args.sip_host,
        xivo_ip=args.xivo_ip,
        certificate=certificate,
    )
    sim = Simulator(lab, config)
    try:
        await sim.start()
    except OSError as exc:
        await sim.aclose()
        print(f"xctest sim: cannot listen: {exc}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(sim.describe(), flush=True)
    print("Ctrl-C to stop.", flush=True)
    try:
        with settled():  # modules and the lab are long-lived: full collections skip them
            await stop.wait()
    finally:
        await sim.aclose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "run":
            try:
                return asyncio.run(_run(args))
            except KeyboardInterrupt:  # what was run is written; the summary is printed
                print("interrupted: the rest is not run", file=sys.stderr)
                return INTERRUPTED
        if args.command == "check":
            return asyncio.run(_check(args))
        if args.command == "validate":
            return _validate(args.paths)
        if args.command == "report":
            first = Path(args.reports[0])
            page = write_html(args.reports, args.output or first.with_suffix(".html"))
            print(f"html: {page}")
            if args.junitxml:
                print(f"junit: {write_junit(args.reports, args.junitxml)}")
            return 0
        if args.command == "schema":
            print(json.dumps(json_schema(), indent=2, sort_keys=True))
            return 0
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
