"""The layer rules of the design, checked on every module's imports (walked with ``ast``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "xctest"

# package prefix -> prefixes it must never import
FORBIDDEN = {
    "xctest.sip": [
        "asyncio",
        "websockets",
        "aiortc",
        "aiohttp",
        "numpy",
        "xctest.transport",
        "xctest.media",
        "xctest.phone",
        "xctest.sim",
        "xctest.cti.client",
    ],
    "xctest.audio": [
        "asyncio",
        "aiortc",
        "av",
        "websockets",
        "aiohttp",
        "xctest.sip",
        "xctest.media",
        "xctest.phone",
        "xctest.sim",
        "xctest.transport",
    ],
    **{
        f"xctest.cti.{pure}": [
            "asyncio",
            "websockets",
            "aiohttp",
            "aiortc",
            "numpy",
            "xctest.transport",
            "xctest.media",
            "xctest.phone",
            "xctest.sim",
            "xctest.cti.client",
        ]
        for pure in ("messages", "commands", "_codec", "rest", "heartbeat")
    },
    "xctest.cti.client": ["xctest.phone", "xctest.sim", "xctest.media", "aiortc"],
    "xctest.phone": ["xctest.sim"],
    "xctest.sim": ["xctest.phone"],
    "xctest.media": ["xctest.sip", "xctest.phone", "xctest.sim", "websockets"],
    "xctest.transport": ["xctest.phone", "xctest.sim", "aiortc", "xctest.media"],
    **{
        f"xctest.scenario.{pure}": [
            "asyncio",
            "websockets",
            "aiohttp",
            "aiortc",
            "numpy",
            "xctest.phone",
            "xctest.sim",
            "xctest.transport",
            "xctest.media",
            "xctest.cti.client",
        ]
        for pure in (
            "model",
            "loader",
            "schema",
            "words",
            "values",
            "expect",
            "events",
            "target",
            "report",
            "html",
            "junit",
        )
    },
    # `xctest check` logs in through the scenario layer's Xivo, never the simulator directly
    "xctest.check": ["xctest.sim", "xctest.sip", "xctest.media", "aiortc"],
    "xctest.check.lines": ["asyncio", "xctest.phone", "xctest.scenario", "xctest.transport"],
    # a worker hosts phones; the simulator it loads runs in a process of its own
    "xctest.load": ["xctest.sim", "xctest.sip", "aiortc"],
    "xctest.heap": ["xctest."],
    "xctest.errors": ["xctest."],
    "xctest.clock": ["xctest."],
    "xctest.results": ["xctest."],
}
# leaf modules that may import from xctest only the modules listed
LEAVES = {"xctest.yamlsource": {"xctest.errors"}}
# third-party libraries only one place may import
OWNERS = {
    "websockets": "xctest.transport.ws",
    "aiohttp": "xctest.transport",
    "aiortc": "xctest.media",
    "aioice": "xctest.media",
    "pesq": "xctest.audio.mos",
}


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path))
    return out


def imports_of(name: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                found.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                found.add(node.module)
    return found


def violations(name: str, imported: set[str]) -> list[str]:
    """Every import of module ``name`` that breaks a layer or ownership rule."""
    found = []
    for prefix, banned in FORBIDDEN.items():
        if name == prefix or name.startswith(prefix + "."):
            for imp in sorted(imported):
                for b in banned:
                    hit = (
                        imp.startswith(b)
                        if b.endswith(".")
                        else imp == b or imp.startswith(b + ".")
                    )
                    if hit:
                        found.append(f"{name} imports {imp}, which its layer forbids")
    if name in LEAVES:
        for imp in sorted(imported):
            if imp.startswith("xctest") and imp not in LEAVES[name]:
                found.append(f"{name} imports {imp}; a leaf imports only {sorted(LEAVES[name])}")
    for lib, owner in OWNERS.items():
        uses = any(i == lib or i.startswith(lib + ".") for i in imported)
        if uses and not (name == owner or name.startswith(owner + ".")):
            found.append(f"{name} imports {lib}; only {owner} may")
    return found


@pytest.mark.parametrize(("name", "path"), modules(), ids=[m for m, _ in modules()])
def test_layer_rules(name, path):
    assert violations(name, imports_of(name, path)) == []


def test_the_rules_catch_breaches():
    """Negative control: the checker reports each kind of breach."""
    assert violations("xctest.sim.pbx", {"xctest.phone.phone"}) == [
        "xctest.sim.pbx imports xctest.phone.phone, which its layer forbids"
    ]
    assert violations("xctest.sip.message", {"asyncio"}) == [
        "xctest.sip.message imports asyncio, which its layer forbids"
    ]
    assert violations("xctest.phone.call", {"websockets.asyncio.client"}) == [
        "xctest.phone.call imports websockets; only xctest.transport.ws may"
    ]
    assert violations("xctest.errors", {"xctest.results"}) != []
    assert violations("xctest.media.peer", {"aiortc", "numpy"}) == []
    assert violations("xctest.scenario.loader", {"asyncio"}) != []
    assert violations("xctest.scenario.model", {"xctest.phone.phone"}) != []
    assert violations("xctest.yamlsource", {"xctest.results"}) != []
    assert violations("xctest.yamlsource", {"xctest.errors", "yaml"}) == []
    assert violations("xctest.check.account", {"xctest.sim.simulator"}) != []


def test_relative_imports_are_resolved(tmp_path):
    pkg = tmp_path / "xctest" / "sim"
    pkg.mkdir(parents=True)
    mod = pkg / "thing.py"
    mod.write_text("from ..phone import phone\nfrom . import lab\n")
    assert imports_of("xctest.sim.thing", mod) == {"xctest.phone", "xctest.sim"}
