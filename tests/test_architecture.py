"""The code's shape, checked: module sizes, no import cycles, one place that reads the environment."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "imgproxy_py"
MAX_LINES = 400
# The project's other Python: the suite, the benchmarks, the model tools (not the environments
# and build outputs that the benchmarks and the plugin test keep beside them).
OTHER_CODE = ("tests/*.py", "tests/*/*.py", "benchmarks/*.py", "models/tools/*.py")
# Modules still over the limit, each at most its current size: they may shrink, not grow.
OVERSIZED: dict[str, int] = {}
# Where the process environment may be read: the config root, the CLI (its own flags'
# defaults), and the worker processes' hand-over between parent and child (the few variables a
# worker needs to find Python and its libraries: worker_pipes; the RAW worker's settings).
# datadog_apm.py only writes: the settings start-up read, for ddtrace, which takes them from there.
ENVIRONMENT_READERS = {"config.py", "cli.py", "url/cli.py", "media/raw_worker.py", "datadog_apm.py", "worker_pipes.py"}


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def test_no_module_over_the_limit() -> None:
    too_big = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        lines = len(path.read_text().splitlines())
        if lines > OVERSIZED.get(relative, MAX_LINES):
            too_big[relative] = lines
    assert too_big == {}


def test_no_test_benchmark_or_tool_module_over_the_limit() -> None:
    too_big = {}
    for pattern in OTHER_CODE:
        for path in ROOT.glob(pattern):
            lines = len(path.read_text().splitlines())
            if lines > MAX_LINES:
                too_big[path.relative_to(ROOT).as_posix()] = lines
    assert too_big == {}


def _module_level_imports(tree: ast.Module, name: str, is_package: bool) -> set[str]:
    """Imports executed when the module loads: not those in functions or under TYPE_CHECKING."""
    found: set[str] = set()
    body = list(tree.body)
    while body:
        node = body.pop(0)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            body.extend(node.orelse)
            continue
        if isinstance(node, (ast.If, ast.Try)):
            body.extend(node.body + getattr(node, "orelse", []) + getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                body.extend(handler.body)
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def test_no_import_cycles() -> None:
    mods = modules()
    graph = {
        name: {dep for dep in _module_level_imports(ast.parse(path.read_text()), name, path.name == "__init__.py")
               if dep in mods and dep != name}
        for name, path in mods.items()
    }
    # A package's __init__ importing its own submodules is not a cycle worth reporting.
    for name, deps in graph.items():
        graph[name] = {d for d in deps if not (d.startswith(name + ".") or name.startswith(d + "."))}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep):], dep])
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_environment_is_read_in_one_place() -> None:
    readers = set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if "os.environ" in text or "os.getenv" in text:
            readers.add(path.relative_to(PACKAGE).as_posix())
    assert readers <= ENVIRONMENT_READERS
