"""The chapters as the source of the code they teach, and student copies without solutions.

A chapter writes the code of what it teaches in its own cells. Where a later chapter (or the
deployment) reuses that code from ``ecgutils``, the cell starts with a marker line::

    #| export ecgutils.models

and every top-level ``def`` or ``class`` in the cell is the package's, one truth as d2l's
``#@save``: :func:`differences` lists where a chapter and the package disagree (a test fails on
any), and :func:`export` (``python -m ecgutils export``) writes the chapters' definitions into
the package, so a change made in the chapter reaches every later chapter.

Exercises sit where their idea is taught: a cell tagged ``exercise`` (the question, or a stub
that runs: ``# your solution here``) and, after it, cells tagged ``solution``. The tests run
them all; :func:`student_copies` (``make student``) writes the notebooks without the
solutions and without outputs. :func:`session_minutes` estimates the class time a chapter takes.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

#: The marker that opens a cell whose definitions the package holds too.
EXPORT = re.compile(r"^#\|\s*export\s+([A-Za-z_]\w*(?:\.\w+)*)\s*$")
#: Cell tags: the question or stub (kept in student copies), and its answer (removed).
EXERCISE, SOLUTION = "exercise", "solution"


@dataclass(frozen=True)
class Definition:
    """One top-level ``def`` or ``class`` that a chapter exports."""

    chapter: str  #: notebook file name
    cell: int  #: cell index in the notebook
    module: str  #: e.g. ``ecgutils.models``
    name: str  #: the function's or class's name
    source: str  #: its source text in the chapter (decorators included)


#: The repository's chapters.
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def notebooks(folder: str | Path = NOTEBOOKS) -> list[Path]:
    """The chapters (``NN_topic.ipynb``) in ``folder``, in order."""
    found = sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise FileNotFoundError(
            f"No chapters (NN_topic.ipynb) in {folder}: run from the repository."
        )
    return found


def _cells(path: Path) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _top_level(source: str, where: str) -> list[tuple[str, str, ast.AST]]:
    """(name, source text, node) of each top-level def/class in ``source``."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ValueError(f"{where}: the exported cell is not valid Python ({exc}).") from exc
    lines = source.splitlines(keepends=True)
    out = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            out.append((node.name, "".join(lines[first - 1 : node.end_lineno]), node))
    return out


def exported_definitions(folder: str | Path = NOTEBOOKS) -> list[Definition]:
    """Every definition the chapters export, in chapter order.

    Raises
    ------
    ValueError
        When a marked cell names a module that does not exist, defines nothing, or two chapters
        export the same name.
    """
    defs: list[Definition] = []
    seen: dict[tuple[str, str], str] = {}
    for path in notebooks(folder):
        for i, cell in enumerate(_cells(path)):
            if cell.get("cell_type") != "code":
                continue
            text = _source(cell)
            first = text.split("\n", 1)[0].strip()
            match = EXPORT.match(first)
            if not match:
                continue
            module, where = match.group(1), f"{path.name}, cell {i}"
            if importlib.util.find_spec(module) is None:
                raise ValueError(f"{where}: no module {module} to export to; fix the marker.")
            found = _top_level(text, where)
            if not found:
                raise ValueError(f"{where}: marked '#| export' but defines no function or class.")
            for name, src, _ in found:
                if (module, name) in seen:
                    raise ValueError(
                        f"{where}: {module}.{name} is already exported by {seen[module, name]}; "
                        "a definition has one home."
                    )
                seen[module, name] = where
                defs.append(Definition(path.name, i, module, name, src))
    return defs


def _module_file(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ValueError(f"No module {module}.")
    return Path(spec.origin)


def _package_nodes(module: str) -> dict[str, tuple[str, ast.AST]]:
    text = _module_file(module).read_text(encoding="utf-8")
    return {name: (src, node) for name, src, node in _top_level(text, module)}


def _same(a: ast.AST, b: ast.AST) -> bool:
    return ast.dump(a, include_attributes=False) == ast.dump(b, include_attributes=False)


def differences(folder: str | Path = NOTEBOOKS) -> list[str]:
    """Where a chapter's exported definition and the package's disagree (empty: one truth).

    Definitions are compared as syntax trees: comments and formatting may differ, code and
    docstrings may not. Each entry names the chapter, the definition and the fix.
    """
    out = []
    modules: dict[str, dict] = {}
    for d in exported_definitions(folder):
        nodes = modules.setdefault(d.module, _package_nodes(d.module))
        chapter_node = _top_level(d.source, d.chapter)[0][2]
        if d.name not in nodes:
            out.append(
                f"{d.chapter} (cell {d.cell}) defines {d.name}, which {d.module} lacks: "
                "run `python -m ecgutils export`."
            )
        elif not _same(chapter_node, nodes[d.name][1]):
            out.append(
                f"{d.chapter} (cell {d.cell}) and {d.module}.{d.name} differ: the chapter is the "
                "source; run `python -m ecgutils export` (or copy the package's version back)."
            )
    return out


def export(folder: str | Path = NOTEBOOKS) -> list[str]:
    """Write every exported definition from the chapters into its module, replacing the
    package's definition of the same name (appending a new one at the end of the module).

    Returns
    -------
    list of str
        ``module.name`` of each definition that changed.
    """
    changed = []
    by_module: dict[str, list[Definition]] = {}
    for d in exported_definitions(folder):
        by_module.setdefault(d.module, []).append(d)
    for module, defs in by_module.items():
        path = _module_file(module)
        text = path.read_text(encoding="utf-8")
        for d in defs:
            lines = text.splitlines(keepends=True)
            nodes = {name: node for name, _, node in _top_level(text, module)}
            chapter_node = _top_level(d.source, d.chapter)[0][2]
            new = d.source if d.source.endswith("\n") else d.source + "\n"
            if d.name in nodes:
                node = nodes[d.name]
                if _same(node, chapter_node):
                    continue
                first = min([node.lineno, *(x.lineno for x in node.decorator_list)])
                text = "".join(lines[: first - 1]) + new + "".join(lines[node.end_lineno :])
            else:
                text = text.rstrip("\n") + "\n\n\n" + new
            changed.append(f"{module}.{d.name}")
        compile(text, str(path), "exec")  # never write a module that does not parse
        path.write_text(text, encoding="utf-8")
    return changed


def exercises(path: str | Path) -> list[tuple[list[int], list[int]]]:
    """(exercise cells, solution cells) of each exercise of a chapter, in order.

    An exercise is a run of consecutive cells tagged ``exercise`` (the question, a stub); its
    solution the cells tagged ``solution`` after it, before the next exercise.

    Raises
    ------
    ValueError
        When a solution cell has no exercise before it, or an exercise has no solution.
    """
    name = Path(path).name
    out: list[tuple[list[int], list[int]]] = []
    previous = None
    for i, cell in enumerate(_cells(path)):
        tags = _tags(cell)
        if EXERCISE in tags and SOLUTION in tags:
            raise ValueError(f"{name}, cell {i}: tagged both exercise and solution.")
        if EXERCISE in tags:
            if previous == EXERCISE:
                out[-1][0].append(i)
            else:
                out.append(([i], []))
            previous = EXERCISE
        elif SOLUTION in tags:
            if not out:
                raise ValueError(f"{name}, cell {i}: a solution before any exercise.")
            out[-1][1].append(i)
            previous = SOLUTION
        else:
            previous = None
    for cells, sols in out:
        if not sols:
            raise ValueError(f"{name}, cell {cells[0]}: an exercise without a solution cell.")
    return out


def student_copy(path: str | Path) -> dict:
    """The notebook without its solution cells and without outputs (a student's copy)."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    exercises(path)  # refuse a chapter whose exercises and solutions do not pair up
    cells = []
    for cell in nb["cells"]:
        if SOLUTION in _tags(cell):
            continue
        cell = dict(cell)
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    return {**nb, "cells": cells}


def student_copies(out: str | Path, folder: str | Path = NOTEBOOKS) -> list[Path]:
    """Write every chapter's student copy into ``out`` (created); returns the files written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks(folder):
        target = out / path.name
        text = json.dumps(student_copy(path), indent=1, ensure_ascii=False) + "\n"
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


#: Reading rates of the session estimate (docs/guide.md, "How long a chapter takes"): prose
#: read to learn at 150 words a minute (Carver 1992 measured about 200 for college readers
#: learning, 138 memorising); code at 10 lines a minute (code review studies put careful
#: reading at 300-500 lines an hour); 8 minutes to try an exercise and read its solution; one
#: minute per recall question.
PROSE_WPM, CODE_LINES_PER_MIN, EXERCISE_MIN, RECALL_MIN = 150, 10, 8, 1
#: Recall questions: an exercise cell that opens with this, its questions marked (a), (b)...
RECALL = re.compile(r"^\*\*Recall")


@dataclass(frozen=True)
class Session:
    """The class time a chapter takes, in minutes, by :data:`PROSE_WPM` and the other rates."""

    prose: float  #: markdown outside the solutions
    code: float  #: code lines outside the solutions (comments and blank lines not counted)
    exercises: float  #: exercises (recall questions apart), tried and their solutions read
    recall: float  #: the recall questions
    running: float  #: the first run's minutes, as measured by ``make course``

    @property
    def total(self) -> float:
        return self.prose + self.code + self.exercises + self.recall + self.running


def session_minutes(path: str | Path, running: float = 0.0) -> Session:
    """Estimate one chapter's class session: reading its prose and code, its exercises, its run.

    Parameters
    ----------
    path : a chapter (``NN_topic.ipynb``).
    running : minutes of the chapter's first run (``build/course-summary.json``, the README's
        course map).
    """
    cells = _cells(Path(path))
    found = exercises(path)
    solutions = {i for _, sols in found for i in sols}
    words = lines = n_exercises = n_recall = 0
    for i, cell in enumerate(cells):
        if i in solutions:
            continue
        text = _source(cell)
        if cell.get("cell_type") == "markdown":
            words += len(text.split())
        elif cell.get("cell_type") == "code":
            lines += sum(
                1 for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
            )
    for cells_of, _ in found:
        text = _source(cells[cells_of[0]])
        if RECALL.match(text):
            n_recall += len(re.findall(r"\(([a-z])\)", text))
        else:
            n_exercises += 1
    return Session(
        prose=words / PROSE_WPM,
        code=lines / CODE_LINES_PER_MIN,
        exercises=n_exercises * EXERCISE_MIN,
        recall=n_recall * RECALL_MIN,
        running=float(running),
    )
