"""ecgutils.course and the notebooks folder: order, clean storage, headless execution."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from ecgutils import course
from ecgutils.config import project_root


def test_course_notebooks_are_numbered_and_stored_without_outputs():
    paths = course.course_notebooks()
    numbers = [int(p.name[:2]) for p in paths]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert paths[0].name == "01_mitbih_data.ipynb"
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name}: outputs"
        assert nb.cells[0].cell_type == "markdown" and "What you will learn" in nb.cells[0].source


def test_no_notebooks_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="No notebooks named NN_topic.ipynb"):
        course.course_notebooks(tmp_path)


def test_run_course_executes_writes_and_reports(tmp_path, monkeypatch, capfd):
    monkeypatch.delenv("ECG_PROFILE", raising=False)
    good, bad = tmp_path / "01_good.ipynb", tmp_path / "02_bad.ipynb"
    nb = new_notebook(cells=[new_code_cell("import os\nprint(os.environ['ECG_PROFILE'])")])
    nbformat.write(nb, good)
    nbformat.write(new_notebook(cells=[new_code_cell("1 / 0")]), bad)
    out = tmp_path / "build"
    runs = course.run_course(out, profile="quick", notebooks=[good, bad], cell_timeout_s=120)
    assert "ECG_PROFILE" not in os.environ  # the runner changes its kernels' environment only
    log = capfd.readouterr()
    assert "without encryption" not in log.err + log.out  # IPC, not TCP: a quiet log
    assert not list(tmp_path.glob("kernel*"))  # no socket files left beside the notebooks
    assert [(r.notebook, r.ok) for r in runs] == [("01_good.ipynb", True), ("02_bad.ipynb", False)]
    assert "ZeroDivisionError" in runs[1].error
    assert 0.02 < runs[0].peak_memory_gb < 8  # a kernel was measured (tens of MB at least)
    executed = nbformat.read(out / "notebooks" / "01_good.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"].strip() == "quick"  # profile reached the kernel
    assert (out / "notebooks" / "02_bad.html").stat().st_size > 1000
    summary = json.loads((out / "course-summary.json").read_text())
    assert summary["profile"] == "quick" and len(summary["notebooks"]) == 2
    text = course.format_summary(runs, "quick")
    assert "2 notebooks, 1 failed" in text and "FAILED" in text and "peak GB" in text


def test_gitignore_keeps_build_data_and_venv_out():
    ignored = (project_root() / ".gitignore").read_text().split()
    assert {".venv/", "build/", "data/*", "!data/README.md"} <= set(ignored)


def _course_map_rows() -> list[list[str]]:
    """Rows of the README's course map: table rows whose first cell names a notebook."""
    text = (project_root() / "README.md").read_text(encoding="utf-8")
    start = text.index("## Course map")
    end = text.index("\n## ", start + 1)
    rows = []
    for line in text[start:end].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].startswith("`") and cells[0].endswith(".ipynb`"):
            rows.append(cells)
    return rows


def test_readme_course_map_matches_the_notebooks():
    rows = _course_map_rows()
    assert [r[0].strip("`") for r in rows] == [p.name for p in course.course_notebooks()]
    header = (project_root() / "README.md").read_text(encoding="utf-8")
    assert "| notebook | what you learn | minutes" in header
    for r in rows:
        assert len(r) == 5, f"{r[0]}: notebook, what you learn, minutes, peak memory, GPU"
        assert r[1] and r[2] and r[3] and r[4], f"{r[0]}: an empty cell in the course map"
        assert r[4].split()[0].strip(";,") in {"no", "optional", "recommended"}, f"{r[0]}: GPU"


def test_every_notebook_has_exercises_with_solutions():
    """Three to five exercises per chapter (cells tagged exercise), each with a solution (cells
    tagged solution), at least one of them code that the tests run."""
    from ecgutils import chapters

    for path in course.course_notebooks():
        nb = nbformat.read(path, as_version=4)
        found = chapters.exercises(path)
        assert 3 <= len(found) <= 6, f"{path.name}: {len(found)} exercises"
        solutions = [nb.cells[i] for _, sols in found for i in sols]
        assert any(c.cell_type == "code" for c in solutions), f"{path.name}: no solution code"
        stubs = [
            nb.cells[i] for cells, _ in found for i in cells if nb.cells[i].cell_type == "code"
        ]
        assert all("# your solution here" in c.source for c in stubs), path.name


def test_teaching_guide_checks_match_what_chapter_01_asserts():
    """The teacher's guide's 'spot it' figure for chapter 01 is the count the chapter asserts."""
    import re

    guide = (Path(course.__file__).resolve().parents[1] / "TEACHING.md").read_text()
    line = next(ln for ln in guide.split("\n- ") if ln.startswith("**01**"))
    figures = {int(n.replace(",", "")) for n in re.findall(r"\d{1,3}(?:,\d{3})+", line)}
    nb = nbformat.read(course.course_notebooks()[0], as_version=4)
    asserted = {
        int(n.replace("_", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for n in re.findall(r"assert n_beats == ([\d_]+)", c.source)
    }
    assert figures and figures == asserted, (figures, asserted)


def _markdown(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "markdown"]


def test_every_chapter_ends_with_its_summary_and_references():
    """Each chapter closes with a summary, then references and further reading with links."""
    import re

    for path in course.course_notebooks():
        cells = _markdown(path)
        titles = [c.split("\n", 1)[0] for c in cells]
        assert "## Summary" in titles, path.name
        assert "## References and further reading" in titles, f"{path.name}: no references"
        refs = titles.index("## References and further reading")
        assert refs == titles.index("## Summary") + 1, f"{path.name}: references after the summary"
        links = re.findall(r"\]\((https?://[^)\s]+)\)", cells[refs])
        assert len(links) >= 3, f"{path.name}: {len(links)} links in its references"


def test_the_arc_is_stated_in_chapter_01_and_closed_in_the_readme_09_and_10_alike():
    """Chapter 01 states the paper's claim with its link; the README, 10 and 11 say where the CNN
    stands in the same words."""
    readme = (project_root() / "README.md").read_text(encoding="utf-8")
    start = readme.index("**Where the CNN stands.**")
    arc = readme[start : readme.index("open problem.", start) + len("open problem.")]
    arc = " ".join(arc.split())
    notebooks = {p.name[:2]: p for p in course.course_notebooks()}
    for nn in ("10", "11"):
        text = " ".join(" ".join(_markdown(notebooks[nn])).split())
        assert arc in text, f"chapter {nn} does not close the arc in the README's words"
    first = " ".join(_markdown(notebooks["01"]))
    assert "arxiv.org/abs/1804.06812" in first and "99.05%" in first and "97.85%" in first


def test_no_solution_answers_another_exercise():
    """A solution answers its own exercise: it never holds another one's answer ("4 (answer)") nor
    names another exercise."""
    import re

    from ecgutils import chapters

    for path in course.course_notebooks():
        nb = nbformat.read(path, as_version=4)
        for questions, solutions in chapters.exercises(path):
            own = re.match(r"\*\*(Exercise \d+|Recall)", nb.cells[questions[0]].source)
            own = own.group(1) if own else ""
            for i in solutions:
                text = nb.cells[i].source
                assert not re.search(r"(?m)^\s*\d+ \(answer", text), f"{path.name} cell {i}"
                others = set(re.findall(r"\b[Ee]xercise \d+", text)) - {own, own.lower()}
                assert not others, f"{path.name} cell {i} ({own}) names {sorted(others)}"


def test_the_glossary_defines_the_terms_and_every_chapter_links_to_it():
    glossary = (project_root() / "docs" / "glossary.md").read_text(encoding="utf-8")
    terms = [
        "AAMI classes",
        "Ablation",
        "DS1, DS2",
        "EC57",
        "Ectopic beat",
        "FPR",
        "MAD",
        "Positive predictivity, +P",
        "Search-back",
        "Sensitivity, Se",
        "SVT",
        "Template",
    ]
    for term in terms:
        assert f"- **{term}" in glossary, term
    for path in course.course_notebooks():
        assert "../docs/glossary.md" in " ".join(_markdown(path)), f"{path.name}: no glossary link"


def test_each_chapter_is_titled_by_its_number_and_points_to_the_next():
    import re

    paths = [p for p in course.course_notebooks() if p.name[:2] != "90"]
    for k, path in enumerate(paths):
        nb = nbformat.read(path, as_version=4)
        assert nb.cells[0].source.startswith(f"# {path.name[:2]} ·"), f"{path.name}: its title"
        text = " ".join(_markdown(path))
        nxt = re.findall(r"\*\*Next:\*\* (\d\d)", text)
        if k + 1 < len(paths):
            assert nxt == [paths[k + 1].name[:2]], f"{path.name}: Next points to {nxt}"


def test_session_minutes_counts_prose_code_exercises_and_recall(tmp_path):
    from ecgutils import chapters

    def cell(kind, text, tags=()):
        c = new_code_cell(text) if kind == "code" else nbformat.v4.new_markdown_cell(text)
        c.metadata["tags"] = list(tags)
        return c

    nb = new_notebook(
        cells=[
            cell("md", " ".join(["word"] * 300)),  # 2 minutes at 150 words a minute
            cell("code", "\n".join(["# a comment", ""] + ["x = 1"] * 20)),  # 2 minutes
            cell("md", "**Exercise 1.** Do it.", ["exercise"]),
            cell("code", "# your solution here", ["exercise"]),
            cell("code", "\n".join(["y = 2"] * 500), ["solution"]),  # solutions are not read
            cell("md", "**Recall.** (a) One? (b) Two? (c) Three?", ["exercise"]),
            cell("md", " ".join(["answer"] * 900), ["solution"]),
        ]
    )
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    s = chapters.session_minutes(path, running=1.5)
    words = 300 + 4 + 7  # the exercise's question and the recall questions are read too
    assert s.prose == pytest.approx(words / chapters.PROSE_WPM)
    assert s.code == pytest.approx(20 / chapters.CODE_LINES_PER_MIN)
    assert (s.exercises, s.recall, s.running) == (
        chapters.EXERCISE_MIN,
        3 * chapters.RECALL_MIN,
        1.5,
    )
    assert s.total == pytest.approx(s.prose + s.code + s.exercises + s.recall + 1.5)


def test_each_chapter_states_its_session_time_as_counted_and_fits_a_class():
    """The header's "about N minutes" is the count of session_minutes (prose, code, exercises,
    recall and the course map's first run) within five minutes, and a session is at most about
    90 minutes (a tenth over allowed)."""
    import re

    from ecgutils import chapters

    first_run = {r[0].strip("`"): float(r[2].split("/")[0]) for r in _course_map_rows()}
    for path in course.course_notebooks():
        header = "\n".join(_markdown(path)[:2])
        m = re.search(r"\*\*Time:\*\* about (\d+) minutes of class", header)
        assert m, f"{path.name}: its header states no '**Time:** about N minutes of class'"
        s = chapters.session_minutes(path, first_run[path.name])
        assert abs(int(m.group(1)) - s.total) <= 5, f"{path.name}: states {m.group(1)}, counts {s}"
        assert s.total <= 99, f"{path.name}: {s.total:.0f} minutes is more than one class session"
