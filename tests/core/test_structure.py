"""The shape of the code, checked: no import cycles among the add-on's and the backend's modules,
and no two modules sharing a name for different jobs."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCT = [p for p in REPO.glob("**/*.py") if p.relative_to(REPO).parts[0] not in ("tests", "tools", "mpd_testing", "build", "out")
           and not p.relative_to(REPO).parts[0].startswith(".")]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "<root>"


def imports_of(path: Path) -> set[str]:
    """The product's modules that ``path`` imports, anywhere in it (function bodies included)."""
    own = module_name(path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".") if package not in ("", "<root>") else []
            base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
            target = ".".join(base + ([node.module] if node.module else []))
            found.add(target or "<root>")
            found |= {f"{target}.{alias.name}".lstrip(".") for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "mpd_backend":
            found.add(node.module)
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PRODUCT}
    return {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def test_no_import_cycles():
    edges = graph()
    # Packages import their submodules to register them; that is not a cycle of logic.
    edges = {n: {m for m in targets if not n.startswith(m + ".") and m != "<root>"} for n, targets in edges.items()}
    assert len(edges) > 40 and sum(map(len, edges.values())) > 60  # the graph was really read
    assert cycles(edges) == []


def test_the_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_two_modules_share_a_name():
    names = Counter(p.stem for p in PRODUCT if p.stem not in ("__init__", "__main__"))
    assert [name for name, count in names.items() if count > 1] == []
