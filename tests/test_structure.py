"""The shape of the source tree: what keeps the backend wing roomy and each stage in its lane.

Each rule here is one the code once broke: modules of 800+ lines, backends importing each other
in a cycle through imports inside functions, the list of backends spelled out in nine places,
the planner probing backend modules with ``hasattr``, library code importing the CLI.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from slogen.backends import registry

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "slogen"
MAX_LINES = 500
MODULES = sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


NAMES = {module_name(p): p for p in MODULES}


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(name: str) -> set[str]:
    """Every slogen module ``name`` imports, at module level or inside functions alike.

    ``from pkg import mod`` counts as importing ``pkg.mod`` when that is a module; an import of
    a package counts as importing its ``__init__``. ``if TYPE_CHECKING:`` imports are left out:
    they never run.
    """
    path = NAMES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(name, path.name == "__init__.py", node)
            submodules = [f"{module}.{a.name}" for a in node.names]
            targets = [s for s in submodules if s in NAMES]
            if len(targets) < len(submodules):  # names defined in the module itself
                targets.append(module)
        else:
            continue
        for target in targets:
            # a package is initialised before its modules: importing it from inside is a no-op
            if target in NAMES and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def _package_edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package's ``__init__`` runs before any of its modules: importing ``a.b.c`` imports
    ``a.b`` too, which is how most real cycles through ``__init__`` files arise."""
    full = {name: set(edges) for name, edges in graph.items()}
    for name, edges in graph.items():
        for target in edges:
            parent = target.rsplit(".", 1)[0]
            while parent in NAMES and parent != name and not name.startswith(parent + "."):
                full[name].add(parent)
                parent = parent.rsplit(".", 1)[0]
    return full


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles() -> None:
    graph = _package_edges({name: imports_of(name) for name in NAMES})
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_is_too_long(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(SRC)} has {lines} lines; split it by purpose"


def _string_collections(tree: ast.AST) -> list[tuple[int, set[str]]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = node.elts
        elif isinstance(node, ast.Dict):
            items = [k for k in node.keys if k is not None]
        else:
            continue
        words = {e.value for e in items if isinstance(e, ast.Constant) and isinstance(e.value, str)}
        out.append((node.lineno, words))
    return out


def test_backends_are_listed_only_in_the_registry() -> None:
    """A literal naming two or more backends is a list of backends; only the registry has one."""
    names = set(registry.every())
    offenders = []
    for name, path in NAMES.items():
        if name == "slogen.backends.registry":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, words in _string_collections(tree):
            if len(words & names) >= 2:
                offenders.append(f"{path.relative_to(SRC)}:{line}")
    assert not offenders, "backend names listed outside the registry: " + ", ".join(offenders)


def test_nothing_probes_modules_with_hasattr() -> None:
    offenders = []
    for _name, path in NAMES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("hasattr", "getattr")
                and node.args
                and "module" in ast.unparse(node.args[0])
            ):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not offenders, "capabilities are declared, not probed: " + ", ".join(offenders)


def test_only_the_entry_point_imports_the_cli() -> None:
    offenders = [
        name
        for name in NAMES
        if not name.startswith("slogen.cli")
        and name != "slogen.__main__"
        and any(t == "slogen.cli" or t.startswith("slogen.cli.") for t in imports_of(name))
    ]
    assert not offenders, f"library modules importing the CLI: {offenders}"


def test_every_backend_fulfils_the_contract() -> None:
    from slogen.backends.contract import Backend, Capabilities

    methods = [m for m in vars(Backend) if not m.startswith("_") and callable(getattr(Backend, m))]
    assert {"validate", "render", "files", "target", "read_source"} <= set(methods)
    for backend in registry.backends():
        assert backend.name in registry.every()
        assert isinstance(backend.capabilities, Capabilities)
        assert "files" in backend.capabilities.target_options, backend.name
        for method in methods:
            assert callable(getattr(backend, method, None)), (backend.name, method)


def test_listing_the_backends_imports_none() -> None:
    """``slogen --help`` and the loader's key lists must not import SDKs."""
    import subprocess
    import sys

    code = (
        "import sys; from slogen.backends import registry; registry.NAMES; "
        "import slogen.cli.main; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('datadog_api_client', 'boto3', 'botocore', 'yaml', 'jinja2')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
