"""The shape of the code, checked: the backend's contract is standard library only and the only part
of the backend the add-on imports; no import cycles; no two modules share a name; no shipped
function is longer than one screen; every reference to a spec points inside the repository; and
docs/architecture.md names every module."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOT_SHIPPED = ("tests", "tools", "mpd_testing", "build", "out")
PRODUCT = [p for p in REPO.glob("**/*.py") if p.relative_to(REPO).parts[0] not in NOT_SHIPPED
           and not p.relative_to(REPO).parts[0].startswith(".")]
CONTRACT = REPO / "mpd_backend" / "contract"
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "<root>"


def is_addon(path: Path) -> bool:
    return path.relative_to(REPO).parts[0] != "mpd_backend"


def imports_of(path: Path, package: str | None = None) -> set[str]:
    """The product's modules that ``path`` imports, anywhere in it (function bodies included), as
    dotted names from the repository root; ``package``: the one it lives in (default: from its path)."""
    if package is None:
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


def top_level_imports(path: Path) -> set[str]:
    """The first part of every absolute import in ``path`` (``import a.b``, ``from a.b import c``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.add(node.module.split(".")[0])
    return names


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


def test_the_contract_imports_the_standard_library_only():
    contract = sorted(CONTRACT.glob("*.py"))
    assert len(contract) >= 10
    outside = {p.name: sorted(top_level_imports(p) - set(sys.stdlib_module_names)) for p in contract}
    assert {name: found for name, found in outside.items() if found} == {}
    reaches_out = {p.name: sorted(m for m in imports_of(p) if m.startswith("mpd_backend") and not m.startswith("mpd_backend.contract"))
                   for p in contract}
    assert {name: found for name, found in reaches_out.items() if found} == {}


def test_importing_the_whole_contract_loads_no_third_party_package():
    modules = [f"mpd_backend.contract.{p.stem}" for p in sorted(CONTRACT.glob("*.py")) if p.stem != "__init__"]
    code = ("import sys; before = set(sys.modules); " + "; ".join(f"import {m}" for m in modules) +
            "; new = {m.split('.')[0] for m in set(sys.modules) - before}; "
            "print(sorted(new - set(sys.stdlib_module_names) - {'mpd_backend'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "[]"


def backend_imports(path: Path, package: str | None = None) -> list[str]:
    return sorted(m for m in imports_of(path, package) if m.split(".")[0] == "mpd_backend")


def test_the_add_on_imports_only_the_backends_contract():
    imported = {module_name(p): backend_imports(p) for p in PRODUCT if is_addon(p)}
    outside = {name: [m for m in found if not m.startswith("mpd_backend.contract")] for name, found in imported.items()}
    assert {name: found for name, found in outside.items() if found} == {}
    assert sum(map(len, imported.values())) > 15  # the add-on's imports of the contract were really read


def test_the_boundary_checks_catch_a_crossing(tmp_path):
    """The two checks above, on an add-on module that crosses both boundaries."""
    crossing = tmp_path / "crossing.py"
    crossing.write_text("import numpy\n\ndef f():\n    from ..mpd_backend.svd.loading import load_pipeline\n")
    assert "numpy" in top_level_imports(crossing) - set(sys.stdlib_module_names)
    assert "mpd_backend.svd.loading" in backend_imports(crossing, package="operators")


def long_functions(paths, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > limit:
                found.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)")
    return found


def test_no_shipped_function_is_longer_than_a_screen():
    assert long_functions(PRODUCT) == []
    assert long_functions(PRODUCT, limit=30)  # the measure itself works


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=REPO, check=True).stdout.split()
    return [REPO / name for name in listed if name.endswith((".py", ".md", ".toml", ".js", ".yaml", ".txt")) and (REPO / name).is_file()]


def test_every_spec_reference_points_inside_the_repository():
    outside = [str(p.relative_to(REPO)) for p in tracked_text_files() if "shared/" + "spec" in p.read_text(encoding="utf-8")]
    assert outside == []
    for spec in ("design.md", "samplers.md", "chains.md"):
        assert (REPO / "docs" / "spec" / spec).is_file()


def test_architecture_names_every_module():
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w/]+\.py)`", text))
    unnamed = [str(p.relative_to(REPO)) for p in PRODUCT
               if p.name != "__main__.py" and str(p.relative_to(REPO)) not in named and p.name != "__init__.py"]
    assert unnamed == []


def test_every_suite_runs_under_a_time_limit(pytestconfig):
    """pytest-timeout in every environment that runs a suite, and a limit in the one configuration
    they all read; this run itself is under it."""
    import tomllib

    options = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    assert options["timeout"] > 0 and options["timeout_method"] == "thread"
    for environment in ("test.txt", "blender-5.0.txt", "blender-4.5.txt", "blender-4.2.txt"):
        assert re.search(r"^pytest-timeout==", (REPO / "requirements" / environment).read_text(encoding="utf-8"), re.M)
    assert pytestconfig.pluginmanager.hasplugin("timeout") and float(pytestconfig.getini("timeout")) == options["timeout"]
