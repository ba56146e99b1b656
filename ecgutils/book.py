"""The course as a browsable static site: ``make book`` (``python -m ecgutils book``).

Reads the notebooks that ``make course`` executed (``build/notebooks/NN_topic.ipynb``, with their
figures and the widgets' saved state) and writes ``build/book/``: a contents page (the README's
course map), one page per notebook with links to the contents and to the previous and next
chapter, the README and the teacher's guide as pages, and the figures they show.

Everything is made offline by nbconvert's bundled ``lab`` template and its Markdown renderer:
no theme or template is fetched at build time. (Viewing is offline too, except MathJax and the
widgets' renderer, which the exported pages load from a CDN when there is a network; the
figures are embedded in the pages.) :func:`broken_links` checks every relative link and image.
"""

from __future__ import annotations

import html
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .config import project_root
from .course import course_notebooks
from .store import publish

#: Pages of the repository that the site includes, with their titles.
EXTRA_PAGES = {
    "README.md": "About the course (README)",
    "TEACHING.md": "Teacher's guide",
    "docs/results.md": "Results: every stored table",
    "docs/guide.md": "Using the course: files, installation, the cache, the layout",
    "docs/glossary.md": "Glossary",
}

_STYLE = """
<style>
.ecg-nav { font-family: sans-serif; font-size: 14px; padding: 8px 16px; margin: 0;
  background: #f3f5f7; border-bottom: 1px solid #d0d7de; display: flex; gap: 24px; }
.ecg-nav.bottom { border-top: 1px solid #d0d7de; border-bottom: none; }
.ecg-page { max-width: 60em; margin: 2em auto; font-family: sans-serif; line-height: 1.5;
  padding: 0 1em; }
.ecg-page table { border-collapse: collapse; } .ecg-page td, .ecg-page th {
  border: 1px solid #d0d7de; padding: 3px 8px; vertical-align: top; }
.ecg-page img { max-width: 100%; } .ecg-page pre { background: #f6f8fa; padding: 8px;
  overflow-x: auto; }
</style>
"""


@dataclass
class Chapter:
    """One notebook of the site."""

    source: Path  # the executed notebook
    page: str  # file name of its page
    title: str  # its first heading


def notebook_title(nb) -> str:
    """The first Markdown heading of a notebook (``# 01 · Title`` -> ``01 · Title``)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return "Untitled"


def _nav(chapters: list[Chapter], k: int | None, bottom: bool = False) -> str:
    links = ['<a href="index.html">Contents</a>']
    if k is not None and k > 0:
        prev = chapters[k - 1]
        links.append(f'<a href="{prev.page}">&larr; {html.escape(prev.title)}</a>')
    if k is not None and k + 1 < len(chapters):
        nxt = chapters[k + 1]
        links.append(f'<a href="{nxt.page}">{html.escape(nxt.title)} &rarr;</a>')
    return f'<nav class="ecg-nav{" bottom" if bottom else ""}">{"".join(links)}</nav>'


def _inject(page: str, top: str, bottom: str) -> str:
    """Put ``top`` right after ``<body ...>`` and ``bottom`` before ``</body>``."""
    page = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + _STYLE + top, page, count=1)
    return page.replace("</body>", bottom + "</body>", 1)


def _relink(html_text: str, links: dict[str, str]) -> str:
    """``html_text`` with links to the repository's files (``links``: path as written -> page of
    the site) pointing at the site's pages, anchors kept."""
    for old, new in links.items():
        html_text = html_text.replace(f'href="{old}"', f'href="{new}"')
        html_text = html_text.replace(f'href="{old}#', f'href="{new}#')
    return html_text


def _markdown_page(text: str, title: str, nav: str, links: dict[str, str]) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    body = _relink(markdown2html_mistune(text), links)
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"{_STYLE}</head><body>{nav}<main class='ecg-page'>{body}</main>{nav}</body></html>"
    )


def build_book(
    build_dir: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    *,
    notebooks: Sequence[str] | None = None,
) -> Path:
    """Write the static site from the executed notebooks.

    Parameters
    ----------
    build_dir : path, optional
        Where ``make course`` wrote ``notebooks/`` (default: ``build/``).
    out_dir : path, optional
        The site's folder (default: ``<build_dir>/book``); replaced as a whole.
    notebooks : list of str, optional
        File names the site must hold (default: every notebook of the course's ``notebooks/``).

    Returns
    -------
    Path
        The site's ``index.html``.

    Raises
    ------
    FileNotFoundError
        When a notebook of the course has no executed copy (run ``make course`` first).
    """
    import nbformat
    from nbconvert import HTMLExporter

    root = project_root()
    build = Path(build_dir) if build_dir is not None else root / "build"
    out = Path(out_dir) if out_dir is not None else build / "book"
    names = list(notebooks) if notebooks is not None else [p.name for p in course_notebooks()]
    missing = [n for n in names if not (build / "notebooks" / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"No executed copy of {', '.join(missing)} in {build / 'notebooks'}: run `make course` "
            "(or `python -m ecgutils course`) first, then `make book`."
        )
    chapters = []
    for n in names:
        nb = nbformat.read(build / "notebooks" / n, as_version=4)
        chapters.append(Chapter(build / "notebooks" / n, Path(n).with_suffix(".html").name,
                                notebook_title(nb)))  # fmt: skip
    with publish(out) as tmp:
        exporter = HTMLExporter(template_name="lab")
        exporter.log.setLevel("ERROR")
        links = {f"notebooks/{c.source.name}": c.page for c in chapters}
        for name in EXTRA_PAGES:  # as the root's files and the docs pages name each other
            page = Path(name).with_suffix(".html").name
            links.update({name: page, f"../{name}": page, Path(name).name: page})
        for k, ch in enumerate(chapters):
            nb = nbformat.read(ch.source, as_version=4)
            page, _ = exporter.from_notebook_node(nb)
            page = _inject(page, _nav(chapters, k), _nav(chapters, k, bottom=True))
            page = _relink(page, {k: v for k, v in links.items() if k.startswith("../")})
            (tmp / ch.page).write_text(page, encoding="utf-8")
        for name, title in EXTRA_PAGES.items():
            src = root / name
            if src.is_file():
                page = _markdown_page(src.read_text(encoding="utf-8"), title, _nav(chapters, None),
                                      links)  # fmt: skip
                (tmp / Path(name).with_suffix(".html").name).write_text(page, encoding="utf-8")
        docs = root / "docs"
        if docs.is_dir():
            shutil.copytree(docs, tmp / "docs")
        (tmp / "index.html").write_text(_index(chapters, root), encoding="utf-8")
    return out / "index.html"


def _index(chapters: list[Chapter], root: Path) -> str:
    import nbformat

    items = []
    for ch in chapters:
        nb = nbformat.read(ch.source, as_version=4)
        first = nb.cells[0].source if nb.cells else ""
        learn = re.search(r"\*\*What you will learn\*\*\s*(.*?)(?:\n\*\*|\Z)", first, re.S)
        bullets = ""
        if learn:
            from nbconvert.filters.markdown_mistune import markdown2html_mistune

            bullets = markdown2html_mistune(learn.group(1).strip())
        items.append(f'<li><a href="{ch.page}"><b>{html.escape(ch.title)}</b></a>{bullets}</li>')
    extra = "".join(
        f'<li><a href="{Path(n).with_suffix(".html").name}">{html.escape(t)}</a></li>'
        for n, t in EXTRA_PAGES.items()
        if (root / n).is_file()
    )
    figure = ""
    if (root / "docs" / "pipeline.png").is_file():
        figure = '<p><img src="docs/pipeline.png" alt="The method on real data"></p>'
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<title>ECG arrhythmia classification with a 2-D CNN</title>"
        f"{_STYLE}</head><body><main class='ecg-page'>"
        "<h1>ECG arrhythmia classification with a 2-D CNN</h1>"
        "<p>An open course in ordered notebooks: read them in this order. Each page is the "
        "notebook as <code>make course</code> executed it.</p>"
        f"{figure}<h2>Chapters</h2><ol>{''.join(items)}</ol><h2>More</h2><ul>{extra}</ul>"
        "</main></body></html>"
    )


_LINK = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""", re.I)


def broken_links(site: str | os.PathLike) -> list[str]:
    """Relative links and images of the site's pages whose target file is missing.

    External links (``http:``, ``https:``, ``mailto:``, ``data:``) and in-page anchors are not
    checked. Returns ``"page -> target"`` strings (empty: no broken link).
    """
    site = Path(site)
    broken = []
    for page in sorted(site.rglob("*.html")):
        for target in _LINK.findall(page.read_text(encoding="utf-8")):
            target = html.unescape(target)
            if re.match(r"^([a-z][a-z0-9+.-]*:|//|#)", target, re.I):
                continue
            path = target.split("#", 1)[0].split("?", 1)[0]
            if path and not (page.parent / path).exists():
                broken.append(f"{page.relative_to(site)} -> {target}")
    return broken
