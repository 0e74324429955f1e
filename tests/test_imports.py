"""The import graph of src/handgrad: no cycle anywhere; training/ imports nothing above
it; the report's renderers need no runner and no experiment, and the report reaches the
experiments' sections only through the registry.

The graph is read from the source with `ast`: every ``import`` and ``from … import``
of a handgrad module, at module level or inside a function (a deferred import is still
a dependency), except those under ``if TYPE_CHECKING:`` (annotations only) unless
asked for (`import_graph(type_checking=True)`).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(
    tree: ast.AST, modules: set[str], *, type_checking: bool = False, deferred: bool = True
) -> set[str]:
    """The ``modules`` that ``tree`` imports: with those under ``if TYPE_CHECKING:`` if
    ``type_checking``, with those inside functions if ``deferred``."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node) and not type_checking:
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not deferred:
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if sub in modules:
                    found.add(sub)
                elif node.module in modules:
                    found.add(node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph(*, type_checking: bool = False, deferred: bool = True) -> dict[str, set[str]]:
    """{module: the handgrad modules it imports} over every file of src/handgrad
    (``type_checking`` and ``deferred`` as for `_imports`)."""
    files = {_module_name(p): p for p in (SRC / "handgrad").rglob("*.py")}
    modules = set(files)
    return {
        name: _imports(
            ast.parse(path.read_text(), str(path)),
            modules,
            type_checking=type_checking,
            deferred=deferred,
        )
        - {name}
        for name, path in files.items()
    }


def loading_graph(*, type_checking: bool = False) -> dict[str, set[str]]:
    """What loading each module may load: its imports (deferred ones too) and its
    packages, whose __init__ runs first and loads what it imports at module level."""
    graph = import_graph(type_checking=type_checking)
    top_level = import_graph(type_checking=type_checking, deferred=False)
    packages = {m.rsplit(".", i)[0] for m in graph for i in range(1, m.count(".") + 1)}
    return {
        m: (top_level[m] if m in packages else deps)
        | {m.rsplit(".", i)[0] for i in range(1, m.count(".") + 1)}
        for m, deps in graph.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as [a, b, …, a], or None if it is acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        for nxt in graph.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_graph_is_read_from_the_source() -> None:
    graph = import_graph()
    assert "handgrad.training.loop" in graph["handgrad.experiments.mlp"]
    assert "handgrad.reproduce.results" in graph["handgrad.report.sections"]
    assert "handgrad.training.registry" in graph["handgrad.report.build"]
    assert "handgrad.report.build" in graph["handgrad.report"]  # deferred, in write_report
    assert "handgrad.report.build" not in import_graph(deferred=False)["handgrad.report"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_type_checking_imports_are_read_when_asked() -> None:
    tree = ast.parse("if TYPE_CHECKING:\n    from a.b import C\nimport d\n")
    assert _imports(tree, {"a.b", "d"}) == {"d"}
    assert _imports(tree, {"a.b", "d"}, type_checking=True) == {"a.b", "d"}


def test_no_import_cycle_in_src_handgrad() -> None:
    assert find_cycle(import_graph()) is None
    assert find_cycle(import_graph(type_checking=True)) is None


ABOVE_TRAINING = ("handgrad.reproduce", "handgrad.report", "handgrad.experiments")


def test_training_imports_nothing_from_reproduce_report_or_experiments() -> None:
    # not even for annotations: what a part is (training/parts.py) sits below both
    graph = loading_graph(type_checking=True)
    for module in (m for m in graph if m.startswith("handgrad.training")):
        above = {m for m in reachable(graph, module) | {module} if m.startswith(ABOVE_TRAINING)}
        assert above == set(), module


RENDERERS = (
    "handgrad.report",
    "handgrad.report.document",
    "handgrad.report.html",
    "handgrad.report.markdown",
    "handgrad.report.mathml",
    "handgrad.report.sections",
)


def test_the_renderers_need_no_runner_and_no_experiment() -> None:
    # the document model, its renderers and the layout shared by every section; they do
    # not ask the registry either (the package handgrad loads it, to export `register`)
    graph = loading_graph()
    assert {m for m in graph if m.startswith("handgrad.report")} == {
        *RENDERERS,
        "handgrad.report.build",
    }
    for module in RENDERERS:
        assert "handgrad.training.registry" not in graph[module], module
        forbidden = {
            m
            for m in reachable(graph, module)
            if m.startswith("handgrad.experiments")
            or (m.startswith("handgrad.reproduce.") and m != "handgrad.reproduce.results")
        }
        assert forbidden == set(), module


def test_the_report_reaches_the_experiments_only_through_the_registry() -> None:
    # build_document asks the registry for each experiment's section: no report module
    # names an experiment, and of reproduce it needs the result types and the checks'
    # section only (not the plan, not the runner)
    graph = loading_graph()
    report = [m for m in graph if m.startswith("handgrad.report")]
    for module in report:
        assert not {m for m in graph[module] if m.startswith("handgrad.experiments")}, module
    needed = reachable(graph, "handgrad.report.build")
    assert "handgrad.training.registry" in needed
    assert not {m for m in needed if m.startswith("handgrad.experiments")}
    assert {m for m in needed if m.startswith("handgrad.reproduce.")} == {
        "handgrad.reproduce.results",
        "handgrad.reproduce.checks",
    }
