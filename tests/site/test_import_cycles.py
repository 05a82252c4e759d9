"""No module-level import cycle in our packages: a module never needs, while it loads, a module
that needs it back (the layers contract only looks between apps). An import inside a function
runs later and may break a cycle when it says so in a comment; those are left out here."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "api", "purchases", "buyers", "subscriptions", "core")


def module_names() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                parts = path.relative_to(ROOT).with_suffix("").parts
                modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imports_run_on_load(tree):
    """Import statements executed when the module loads: all but those in function bodies."""
    nodes = list(tree.body)
    while nodes:
        node = nodes.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        nodes.extend(ast.iter_child_nodes(node))


def imported_modules(name: str, path: Path, modules) -> set[str]:
    found = set()
    for node in imports_run_on_load(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        if node.level:
            base = package[: len(package) - node.level + 1] + [node.module or ""]
            source = ".".join(part for part in base if part)
        else:
            source = node.module
        submodules = {f"{source}.{alias.name}" for alias in node.names} & modules.keys()
        found |= submodules
        # `from . import sibling` needs the sibling, not the package's own __init__.
        if not (name.startswith(source + ".") and len(submodules) == len(node.names)):
            found.add(source)
    return {module for module in found if module in modules and module != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while not group or group[-1] != module:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return groups


def test_no_module_level_import_cycle():
    modules = module_names()
    graph = {name: imported_modules(name, path, modules) for name, path in modules.items()}
    assert cycles(graph) == []


def test_the_check_sees_a_cycle_through_a_packages_modules():
    graph = {"a": {"a.b"}, "a.b": {"a.c"}, "a.c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "a.b", "a.c"]]
