"""The backend's structure: no import cycles, capability packages, thin doors.

The import graph is read from the source (ast), so the test sees what a newcomer reads.
"""

from __future__ import annotations

import ast
from pathlib import Path

from aftercare_local.paths import BACKEND

OWN_PACKAGES = ("chalicelib", "aftercare_cli", "aftercare_local")
# Room for settings and a few more beside the capability packages, not a flat folder again.
MOST_TOP_LEVEL_MODULES = 10


def module_name(path: Path) -> str:
    parts = list(path.relative_to(BACKEND).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    found = {module_name(path): path
             for package in OWN_PACKAGES for path in (BACKEND / package).rglob("*.py")}
    found["app"] = BACKEND / "app.py"
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of ours this module imports anywhere in it (at the top or inside a function)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], base]).strip(".")
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = sources()
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of more than one module (Tarjan), or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = stack[stack.index(node):]
            del stack[stack.index(node):]
            on_stack.difference_update(group)
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_module_of_the_backend_is_part_of_an_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = import_graph()
    graph["chalicelib.store.items"] = {*graph["chalicelib.store.items"], "chalicelib.staff.desk"}
    assert any("chalicelib.store.items" in group for group in cycles(graph))


def test_chalicelib_is_capability_packages_with_few_modules_beside_them() -> None:
    top_modules = [path.stem for path in (BACKEND / "chalicelib").glob("*.py") if path.stem != "__init__"]
    assert len(top_modules) <= MOST_TOP_LEVEL_MODULES, top_modules
    for package in (path for path in (BACKEND / "chalicelib").iterdir() if (path / "__init__.py").exists()):
        face = ast.parse((package / "__init__.py").read_text())
        assert ast.get_docstring(face), f"{package.name} says what it offers"
        offered = [node for node in face.body if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets)]
        assert offered, f"{package.name} has an __all__"


def test_the_command_is_a_thin_door_no_aws_client_and_no_audit_of_its_own() -> None:
    for path in (BACKEND / "aftercare_cli").rglob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom)}
        assert not imported & {"boto3", "botocore"}, path.name
        called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call)
                  and isinstance(node.func, ast.Name)}
        assert "audited" not in called, path.name


def test_the_public_api_maps_refusals_in_one_place() -> None:
    tree = ast.parse((BACKEND / "app.py").read_text())
    handlers = [node for node in ast.walk(tree) if isinstance(node, ast.ExceptHandler)]
    assert len(handlers) <= 3, [node.lineno for node in handlers]
