"""The package's architecture: the method never imports the research, no import circle anywhere,
imports at the top of modules, and a module size a reader can take in."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from ecgutils.research import layout

CORE = [m for m in layout.modules() if not layout.is_research(m)]


def test_the_method_never_imports_the_research():
    """No module outside ``ecgutils.research`` imports it (the command line, which offers both,
    excepted), neither at the top nor inside a function."""
    wrong = [
        f"{m} imports {target} (line {line})"
        for m in CORE
        if m != layout.COMMAND_LINE
        for target, line, _ in layout.imports(m)
        if layout.is_research(target)
    ]
    assert not wrong, "the method imports the research area:\n" + "\n".join(wrong)


def _loaded_after_importing(names: list[str]) -> set[str]:
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print(' '.join(sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_importing_the_method_loads_neither_research_nor_tensorflow():
    """At run time too: importing every module of the method (the command line excepted, and
    the two that need TensorFlow) loads no research module, whatever a module imports
    dynamically, and not TensorFlow (the trees' deployment and the plots start in a second)."""
    names = [m for m in CORE if m != layout.COMMAND_LINE and m not in layout.LOADS_TENSORFLOW]
    loaded = _loaded_after_importing(names)
    assert not {m for m in loaded if layout.is_research(m)}
    assert "tensorflow" not in loaded
    assert "tensorflow" not in _loaded_after_importing([layout.COMMAND_LINE])


def test_the_modules_deferred_for_tensorflow_do_load_it():
    """Each module named as loading TensorFlow calls the backend's import at module level (what
    makes importing it take seconds, and so the reason it may be imported late)."""
    for module in layout.LOADS_TENSORFLOW:
        tree = ast.parse(layout._path(module).read_text(encoding="utf-8"))
        calls = {
            node.value.func.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
        }
        assert calls & {"import_keras", "import_tensorflow"}, module


def test_no_import_circle():
    assert layout.import_circle() is None, "import circle: " + " -> ".join(layout.import_circle())


def test_circle_finder_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    circle = layout.import_circle(graph)
    assert circle is not None and circle[0] == circle[-1] and set(circle) == {"a", "b", "c"}
    assert layout.import_circle({"a": {"b"}, "b": set()}) is None


def test_package_imports_sit_at_the_top_of_modules():
    """An ``ecgutils`` module is imported at the top of a module, never inside a function (where a
    circle would hide until the function runs), unless it loads TensorFlow."""
    inside = [
        f"{m} line {line}: {target}"
        for m in layout.modules()
        for target, line, in_function in layout.imports(m)
        if in_function and target not in layout.LOADS_TENSORFLOW
    ]
    assert not inside, "imports inside functions:\n" + "\n".join(inside)


@pytest.mark.parametrize("module", layout.modules())
def test_each_module_says_its_job_in_its_first_line(module):
    first = layout.first_line(module)
    assert first and len(first) <= 100 and first.endswith((".", ")")), (
        f"{module}: its docstring opens without a one-line summary: {first!r}"
    )


def test_no_module_of_the_method_is_longer_than_a_reader_takes_in():
    """Issue 29's bound: no module outside the research area over 700 lines (split it by step)."""
    long = {m: layout.lines(m) for m in CORE if layout.lines(m) > 700}
    assert not long, f"modules over 700 lines: {long}"
