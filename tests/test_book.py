"""ecgutils.book: the static site of the executed notebooks, with working links."""

from __future__ import annotations

import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from ecgutils import book
from ecgutils.course import course_notebooks


def _executed(folder, name, title):
    nb = new_notebook(
        cells=[
            new_markdown_cell(
                f"# {title}\n\n**What you will learn**\n\n- one thing\n\n**Time:** 1"
            ),
            new_code_cell("1 + 1", outputs=[new_output("execute_result", {"text/plain": "2"})]),
        ]
    )
    nbformat.write(nb, folder / name)


def test_site_has_contents_chapters_in_order_and_no_broken_links(tmp_path):
    (tmp_path / "notebooks").mkdir()
    _executed(tmp_path / "notebooks", "01_a.ipynb", "01 · First")
    _executed(tmp_path / "notebooks", "02_b.ipynb", "02 · Second")
    index = book.build_book(tmp_path, notebooks=["01_a.ipynb", "02_b.ipynb"])
    site = index.parent
    assert {p.name for p in site.glob("*.html")} >= {"index.html", "01_a.html", "02_b.html"}
    text = index.read_text()
    assert text.index("01 · First") < text.index("02 · Second") and "one thing" in text
    first = (site / "01_a.html").read_text()
    assert 'href="02_b.html"' in first and 'href="index.html"' in first
    assert ">2<" in first or "2</pre>" in first  # the executed output is on the page
    assert book.broken_links(site) == []
    # a broken link is found
    (site / "extra.html").write_text(
        '<a href="nowhere.html">x</a><img src="data:image/png;base64,">'
    )
    assert book.broken_links(site) == ["extra.html -> nowhere.html"]


def test_missing_executed_notebook_is_a_clear_error(tmp_path):
    (tmp_path / "notebooks").mkdir()
    _executed(tmp_path / "notebooks", "01_a.ipynb", "01 · First")
    with pytest.raises(FileNotFoundError, match=r"02_b.ipynb.*make course"):
        book.build_book(tmp_path, notebooks=["01_a.ipynb", "02_b.ipynb"])
    assert not (tmp_path / "book").exists()  # nothing half-written


def test_site_of_the_whole_course_links_every_notebook(tmp_path):
    """Built from the course's own notebooks (stored copies: `make course` executes them)."""
    (tmp_path / "notebooks").mkdir()
    for path in course_notebooks():
        shutil.copy(path, tmp_path / "notebooks" / path.name)
    index = book.build_book(tmp_path)
    site = index.parent
    text = index.read_text()
    for path in course_notebooks():
        assert f'href="{path.with_suffix(".html").name}"' in text
        assert (site / path.with_suffix(".html").name).is_file()
    assert (site / "README.html").is_file() and (site / "TEACHING.html").is_file()
    assert book.broken_links(site) == []


@pytest.mark.integration
def test_site_from_a_notebook_executed_in_the_quick_profile(mitdb_ready, tmp_path):
    """Chapter 01 executed as `make course PROFILE=quick` does, then its page: figures embedded,
    the widgets' saved state on the page, links whole."""
    from ecgutils.course import run_course

    first = course_notebooks()[0]
    runs = run_course(tmp_path, profile="quick", notebooks=[first])
    assert runs[0].ok, runs[0].error
    index = book.build_book(tmp_path, notebooks=[first.name])
    page = (index.parent / first.with_suffix(".html").name).read_text()
    assert page.count("data:image/png;base64") >= 3  # the figures travel inside the page
    assert "application/vnd.jupyter.widget-state+json" in page  # the record browser's state
    assert book.broken_links(index.parent) == []
