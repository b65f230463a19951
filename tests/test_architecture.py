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
    "xctest.phone": ["xctest.sim"],
    "xctest.sim": ["xctest.phone"],
    "xctest.media": ["xctest.sip", "xctest.phone", "xctest.sim", "websockets"],
    "xctest.transport": ["xctest.phone", "xctest.sim", "aiortc", "xctest.media"],
    "xctest.errors": ["xctest."],
    "xctest.clock": ["xctest."],
    "xctest.results": ["xctest."],
}
# third-party libraries only one place may import
OWNERS = {"websockets": "xctest.transport.ws", "aiortc": "xctest.media", "aioice": "xctest.media"}


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


@pytest.mark.parametrize(("name", "path"), modules(), ids=[m for m, _ in modules()])
def test_layer_rules(name, path):
    imported = imports_of(name, path)
    for prefix, banned in FORBIDDEN.items():
        if name == prefix or name.startswith(prefix + "."):
            bad = sorted(
                i
                for i in imported
                for b in banned
                if i == b.rstrip(".") or i.startswith(b if b.endswith(".") else b + ".") or i == b
            )
            assert not bad, f"{name} imports {bad}, which its layer forbids"
    for lib, owner in OWNERS.items():
        uses = any(i == lib or i.startswith(lib + ".") for i in imported)
        if uses:
            assert name == owner or name.startswith(owner + "."), (
                f"{name} imports {lib}; only {owner} may"
            )


def test_the_rules_can_fail():
    """Negative control: a module that breaks a rule is caught."""
    sim_imports = {"xctest.phone.phone"}
    assert any(i.startswith("xctest.phone") for i in sim_imports)
    assert imports_of("xctest.sip.message", ROOT / "sip" / "message.py")  # it parses real files
