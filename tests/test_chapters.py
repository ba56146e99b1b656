"""The chapters are the source of the code they teach (one truth with the package), and student
copies keep every exercise and no solution."""

from __future__ import annotations

import ast
import builtins
import json
import symtable
import sys
import textwrap
from pathlib import Path

import pytest

from ecgutils import chapters
from ecgutils.__main__ import main


def _nb(cells: list[tuple[str, str, list[str]]]) -> dict:
    out = []
    for kind, source, tags in cells:
        cell = {"cell_type": kind, "metadata": {"tags": tags}, "source": source}
        if kind == "code":
            cell |= {"outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}],
                     "execution_count": 1}  # fmt: skip
        out.append(cell)
    return {"cells": out, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _write(folder: Path, name: str, cells) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(_nb(cells)))
    return path


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """A module ``fakepkg.steps`` with one function, importable for this test only."""
    pkg = tmp_path / "src" / "fakepkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "steps.py").write_text(
        textwrap.dedent('''\
            """Steps."""

            import numpy as np


            def double(x):
                """Twice x."""
                return 2 * x


            def keep():
                return 1
            ''')
    )
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    for name in [m for m in sys.modules if m.startswith("fakepkg")]:
        monkeypatch.delitem(sys.modules, name)
    return pkg / "steps.py"


def test_the_chapter_is_the_source_of_what_it_exports(tmp_path, fake_package):
    book = tmp_path / "nb"
    same = '#| export fakepkg.steps\ndef double(x):\n    """Twice x."""\n    return 2 * x  # note\n'
    _write(book, "01_a.ipynb", [("markdown", "# A", []), ("code", same, [])])
    assert chapters.differences(book) == []  # comments may differ; the code is the same
    edited = same.replace("2 * x", "x + x") + "\n\ndef triple(x):\n    return 3 * x\n"
    _write(book, "01_a.ipynb", [("code", edited, [])])
    found = chapters.differences(book)
    assert len(found) == 2 and "01_a.ipynb (cell 0) and fakepkg.steps.double differ" in found[0]
    assert "defines triple, which fakepkg.steps lacks" in found[1]
    assert chapters.export(book) == ["fakepkg.steps.double", "fakepkg.steps.triple"]
    text = fake_package.read_text()
    assert "return x + x" in text and "def triple(x):" in text and "def keep():" in text
    assert "import numpy as np" in text and chapters.differences(book) == []
    assert chapters.export(book) == []  # nothing left to write


def test_a_definition_has_one_home(tmp_path, fake_package):
    book = tmp_path / "nb"
    cell = "#| export fakepkg.steps\ndef double(x):\n    return 2 * x\n"
    _write(book, "01_a.ipynb", [("code", cell, [])])
    _write(book, "02_b.ipynb", [("code", cell, [])])
    with pytest.raises(ValueError, match="02_b.ipynb, cell 0: fakepkg.steps.double is already"):
        chapters.exported_definitions(book)
    _write(book, "02_b.ipynb", [("code", "#| export fakepkg.nowhere\ndef f():\n    pass\n", [])])
    with pytest.raises(ValueError, match="no module fakepkg.nowhere"):
        chapters.exported_definitions(book)
    _write(book, "02_b.ipynb", [("code", "#| export fakepkg.steps\nx = 1\n", [])])
    with pytest.raises(ValueError, match="defines no function or class"):
        chapters.exported_definitions(book)


def test_student_copy_drops_solutions_and_outputs(tmp_path):
    book = tmp_path / "nb"
    path = _write(book, "01_a.ipynb", [
        ("code", "x = 1", []),
        ("markdown", "**Exercise 1.** Add one.", ["exercise"]),
        ("code", "y = ...  # your solution here", ["exercise"]),
        ("code", "y = x + 1", ["solution"]),
        ("markdown", "Adding one is ...", ["solution"]),
    ])  # fmt: skip
    assert chapters.exercises(path) == [([1, 2], [3, 4])]
    copy = chapters.student_copy(path)
    assert [c["source"] for c in copy["cells"]] == [
        "x = 1", "**Exercise 1.** Add one.", "y = ...  # your solution here"
    ]  # fmt: skip
    assert all(c["outputs"] == [] for c in copy["cells"] if c["cell_type"] == "code")
    _write(book, "01_a.ipynb", [("code", "y = 2", ["solution"])])
    with pytest.raises(ValueError, match="a solution before any exercise"):
        chapters.student_copy(path)
    _write(book, "01_a.ipynb", [("code", "y = ...", ["exercise"])])
    with pytest.raises(ValueError, match="an exercise without a solution"):
        chapters.student_copy(path)


def test_the_course_chapters_and_package_agree():
    """Every chapter's exported code is the package's (else: python -m ecgutils export)."""
    assert chapters.differences() == []
    exported = chapters.exported_definitions()
    assert len({d.chapter for d in exported}) >= 1


def test_make_student_keeps_every_exercise_and_no_solution(tmp_path, capsys):
    assert main(["student", "--out", str(tmp_path)]) == 0
    assert "student notebooks" in capsys.readouterr().out
    total = 0
    for path in chapters.notebooks():
        original = json.loads(path.read_text())["cells"]
        copy = json.loads((tmp_path / path.name).read_text())["cells"]
        tags = [set(c.get("metadata", {}).get("tags", [])) for c in original]
        kept = [c for c, t in zip(original, tags) if "solution" not in t]
        assert copy == [dict(c, outputs=[], execution_count=None) if c["cell_type"] == "code"
                        else c for c in kept], path.name  # fmt: skip
        for ex_cells, sol_cells in chapters.exercises(path):  # stubs do not give answers away
            asked = "\n".join(chapters._source(original[i]) for i in ex_cells)
            for i in sol_cells:
                lines = [ln.strip() for ln in chapters._source(original[i]).splitlines()]
                lines = [ln for ln in lines if len(ln) > 25 and not ln.startswith("#")]
                shared = [ln for ln in lines if ln in asked]  # a stub's scaffold may share a few
                assert len(shared) <= len(lines) // 2, (
                    f"{path.name}, cell {i}: the exercise holds {shared}"
                )
        total += len(chapters.exercises(path))
    assert total >= 10  # every chapter has exercises where its ideas are taught


def _bound_and_used(source: str) -> tuple[set[str], set[str]]:
    """Names a cell binds at top level (assignments, imports, defs) and names it reads."""
    import ast

    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    tree = ast.parse("\n".join(lines))
    bound, used = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) else used).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return bound, used


def test_student_copies_never_need_a_solution():
    """A chapter read without its solutions (``make student``) still runs: no cell after a
    solution reads a name that only a solution cell binds."""
    for path in chapters.notebooks():
        cells = json.loads(path.read_text())["cells"]
        kept: set[str] = set()
        only_solutions: set[str] = set()
        for cell in cells:
            if cell["cell_type"] != "code":
                continue
            bound, used = _bound_and_used(chapters._source(cell))
            if "solution" in cell.get("metadata", {}).get("tags", []):
                only_solutions |= bound - kept
                continue
            leaked = ((used - bound) & only_solutions) - kept
            assert not leaked, f"{path.name}: {sorted(leaked)} come from a solution only"
            kept |= bound


def test_each_module_names_the_chapters_that_write_its_code():
    """Where chapters export code into a module, the module's docstring says so: each source
    chapter is named ("chapter 02" or "notebook 02") so a reader of the package finds the
    lesson, and a student of the lesson the package file."""
    import importlib
    import re

    sources: dict[str, set[str]] = {}
    for d in chapters.exported_definitions():
        sources.setdefault(d.module, set()).add(d.chapter[:2])
    assert sources
    for module, numbers in sorted(sources.items()):
        doc = importlib.import_module(module).__doc__ or ""
        named = set(re.findall(r"(?:chapters?|notebooks?) (\d\d)", doc))
        named |= {n for a, b in re.findall(r"(?:chapters?|notebooks?) (\d\d)-(\d\d)", doc)
                  for n in (f"{k:02d}" for k in range(int(a), int(b) + 1))}  # fmt: skip
        assert numbers <= named, f"{module}'s docstring does not name chapter(s) {numbers - named}"


def _code(source: str) -> str:
    """A code cell without its IPython magics and shell lines (not Python)."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )


def _bound_at_top(tree: ast.Module) -> set[str]:
    """Names a cell binds at the notebook's top level: imports, definitions, assignments."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _needed_globals(source: str) -> set[str]:
    """Names the cell's functions (and its top level) read from the notebook's namespace."""
    table = symtable.symtable(source, "<cell>", "exec")
    needed: set[str] = set()

    def walk(t):
        for sym in t.get_symbols():
            top = t.get_type() == "module"
            if (
                top and sym.is_referenced() and not sym.is_assigned() and not sym.is_imported()
            ) or (not top and sym.is_global() and not sym.is_declared_global()):
                needed.add(sym.get_name())
        for child in t.get_children():
            walk(child)

    walk(table)
    return needed


def test_every_name_an_exported_cell_uses_is_defined_in_its_chapter():
    """An exported cell runs in the chapter's namespace: every name its code reads must be
    imported or defined there (the package module may import more than the chapter does; a
    name only the package has breaks the chapter, and only the notebook run would tell)."""
    missing = []
    for path in chapters.notebooks():
        cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        sources = [_code("".join(c["source"])) for c in cells]
        bound = set(dir(builtins)) | {"display", "get_ipython"}
        for src in sources:
            bound |= _bound_at_top(ast.parse(src))
        for i, src in enumerate(sources):
            if src.startswith("#| export"):
                lacking = _needed_globals(src) - bound
                missing += [f"{path.name}, code cell {i}: {name}" for name in sorted(lacking)]
    assert not missing, "names exported cells use but their chapter never defines: " + "; ".join(
        missing
    )
