"""The package's own shape: its modules, their imports, their sizes, and any import circle.

What ``python -m ecgutils bench package`` prints and ``tests/test_architecture.py`` checks: the
method (everything outside :mod:`ecgutils.research`) never imports the research, no module
imports another in a circle, package imports sit at the top of modules.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

#: The package's folder.
PACKAGE = Path(__file__).resolve().parents[1]
#: The one module that offers both the method and the research: the command line.
COMMAND_LINE = "ecgutils.__main__"
#: Modules that import TensorFlow when they are imported (the CNNs, Grad-CAM): the only ones a
#: module may import inside a function, so that the rest of the package starts in a second.
LOADS_TENSORFLOW = ("ecgutils.models", "ecgutils.explain")


def _path(module: str) -> Path:
    rel = Path(*module.split(".")[1:])
    folder = PACKAGE / rel
    return folder / "__init__.py" if folder.is_dir() else PACKAGE / rel.with_suffix(".py")


def modules() -> list[str]:
    """Every module of ``ecgutils`` (``ecgutils.research.bench``, ...), sorted."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return sorted(out)


def is_research(module: str) -> bool:
    """Whether ``module`` belongs to the research area."""
    return module == "ecgutils.research" or module.startswith("ecgutils.research.")


@cache
def imports(module: str) -> tuple[tuple[str, int, bool], ...]:
    """The ``ecgutils`` modules that ``module`` imports: (module, line, inside a function)."""
    path = _path(module)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    known = set(modules())
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[: len(package) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                names = [f"{target}.{a.name}" for a in child.names]
                hits = [n for n in names if n in known] or ([target] if target in known else [])
                found.extend((t, child.lineno, inner) for t in hits)
            elif isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, inner) for a in child.names if a.name in known)
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return tuple(t for t in found if t[0] != module)


def graph() -> dict[str, set[str]]:
    """module -> the ``ecgutils`` modules it imports (anywhere in it)."""
    return {m: {t for t, _, _ in imports(m)} for m in modules()}


def import_circle(edges: dict[str, set[str]] | None = None) -> list[str] | None:
    """One circle of imports (``[a, b, a]``), or None when the graph has none."""
    edges = graph() if edges is None else edges
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def walk(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := walk(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := walk(start, [start])):
            return found
    return None


def first_line(module: str) -> str:
    """The first line of ``module``'s docstring ("" when it has none)."""
    doc = ast.get_docstring(ast.parse(_path(module).read_text(encoding="utf-8"))) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def lines(module: str) -> int:
    """Lines of ``module``'s file."""
    return len(_path(module).read_text(encoding="utf-8").splitlines())


def sizes() -> dict[str, int]:
    """Lines of the method (everything outside the research area) and of the research area."""
    core = sum(lines(m) for m in modules() if not is_research(m))
    research = sum(lines(m) for m in modules() if is_research(m))
    return {"method": core, "research": research}
