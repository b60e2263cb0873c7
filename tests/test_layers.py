"""The layering of the package, read from its source with `ast` (docs/DESIGN.md, "Layers").

Each sub-package imports only from the layers below it:
protocol -> parsing -> io -> record | score -> stats -> analysis -> report -> cli,
over the base modules at the package's top (errors, _version, the Rust `_core`). Imports inside
functions count. Imports under `if TYPE_CHECKING:` are left out: they are never executed and
only name types for the checker (they must still not point upward: checked
apart). The package root `ger_replay/__init__.py` is the lazy
public API and may import anything, by name, on first use.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "ger_replay"
DESIGN = ROOT / "docs" / "DESIGN.md"

#: The layers, lowest first; a sub-package may import only from layers before its own.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "_version", "_core"),
    ("protocol",),
    ("parsing",),
    ("io",),
    ("record", "score"),
    ("stats",),
    ("analysis",),
    ("report",),
    ("cli",),
)
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}
BASE = set(LAYERS[0])
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80


@dataclass(frozen=True)
class Import:
    module: str  # importing module, dotted
    target: str  # imported module (or module.attribute), dotted
    line: int
    type_only: bool
    from_root: bool  # `from ger_replay import x` / `import ger_replay`


def modules() -> list[Path]:
    return sorted(PKG.rglob("*.py"))


def dotted(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, type_only: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for sub in child.body:
                yield sub, True
                yield from _walk(sub, True)
            for sub in child.orelse:
                yield sub, type_only
                yield from _walk(sub, type_only)
            continue
        yield child, type_only
        yield from _walk(child, type_only)


def imports(path: Path, root: Path = ROOT) -> list[Import]:
    mod = dotted(path, root)
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out: list[Import] = []
    for node, type_only in _walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "ger_replay" or a.name.startswith("ger_replay."):
                    out.append(Import(mod, a.name, node.lineno, type_only, a.name == "ger_replay"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target == "ger_replay":
                for a in node.names:
                    out.append(Import(mod, f"ger_replay.{a.name}", node.lineno, type_only, True))
            elif target.startswith("ger_replay."):
                out.append(Import(mod, target, node.lineno, type_only, False))
    return out


def part(dotted_name: str) -> str:
    """The sub-package (or base module) a dotted name belongs to; '' for the root."""
    parts = dotted_name.split(".")
    return parts[1] if len(parts) > 1 else ""


ALL = {p: imports(p) for p in modules()}
NOT_ROOT = {p: v for p, v in ALL.items() if p != PKG / "__init__.py"}


def subpackages() -> list[str]:
    return sorted(p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists())


def test_every_subpackage_has_a_layer() -> None:
    assert set(subpackages()) <= set(RANK), set(subpackages()) - set(RANK)
    tops = {p.stem for p in PKG.glob("*.py")} - {"__init__"}
    assert tops <= BASE, f"top-level modules outside the base layer: {tops - BASE}"


def _edges(type_only: bool) -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = {}
    for path, imps in NOT_ROOT.items():
        for imp in imps:
            if imp.type_only != type_only:
                continue
            a, b = part(imp.module), part(imp.target)
            if a and b and a != b:
                edges.setdefault((a, b), []).append(f"{path.relative_to(ROOT)}:{imp.line}")
    return edges


def test_no_cycle_between_subpackages() -> None:
    graph: dict[str, set[str]] = {}
    for a, b in _edges(type_only=False):
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return [*stack[stack.index(m) :], m]
            if m not in state and (cycle := visit(m)):
                return cycle
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            cycle = visit(n)
            assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize("type_only", [False, True], ids=["executed", "type-only"])
def test_imports_point_down_the_layers(type_only: bool) -> None:
    wrong = [
        f"{a} -> {b}: {', '.join(where)}"
        for (a, b), where in sorted(_edges(type_only).items())
        if not (RANK[b] < RANK[a] or (a in BASE and b in BASE))
    ]
    assert not wrong, "imports against the layer order:\n" + "\n".join(wrong)


def test_no_module_imports_the_package_root() -> None:
    found = [
        f"{p.relative_to(ROOT)}:{i.line} ({i.target})"
        for p, imps in NOT_ROOT.items()
        for i in imps
        if i.from_root
    ]
    assert not found, "imports from the package root `ger_replay`:\n" + "\n".join(found)


def _imports_by_name(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name in ("import_module", "__import__"):
                lines.append(node.lineno)
    return lines


def test_no_import_by_name_outside_the_lazy_root() -> None:
    found = [f"{p.relative_to(ROOT)}:{n}" for p in NOT_ROOT for n in _imports_by_name(p)]
    assert not found, "imports by name (importlib):\n" + "\n".join(found)
    # the one place that may, does (the lazy public API)
    assert _imports_by_name(PKG / "__init__.py")


def test_no_file_over_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES
    }
    assert not long, long


def test_no_function_over_80_lines() -> None:
    long = {}
    for p in modules():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long[f"{p.relative_to(ROOT)}:{node.lineno} {node.name}"] = n
    assert not long, long


def test_design_names_every_subpackage_and_layer() -> None:
    text = DESIGN.read_text(encoding="utf-8")
    missing = [s for s in subpackages() if f"{s}/" not in text]
    assert not missing, f"sub-packages docs/DESIGN.md does not name: {missing}"
    order = " -> ".join(" | ".join(layer) for layer in LAYERS[1:])
    assert order in text, f"docs/DESIGN.md should state the layer order: {order}"


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The reader of imports is not blind: an upward, in-function import is found."""
    target = tmp_path / "ger_replay" / "protocol" / "m.py"
    target.parent.mkdir(parents=True)
    target.write_text(
        "def f():\n    from ger_replay.cli import main\n    from ger_replay import load\n"
        "if TYPE_CHECKING:\n    from ger_replay.report import x\n",
        encoding="utf-8",
    )
    got = imports(target, tmp_path)
    assert [(part(i.module), part(i.target), i.type_only, i.from_root) for i in got] == [
        ("protocol", "cli", False, False),
        ("protocol", "load", False, True),
        ("protocol", "report", True, False),
    ]
