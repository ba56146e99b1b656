"""ecgutils.store: keys, atomic publishing, two writers, killed writers, listing and clearing."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ecgutils import store


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "data_dir", lambda: tmp_path)
    return tmp_path


def _spec(**kw):
    args = {"kind": "beats", "label": "t", "params": {"a": 1}, "module": "ecgutils.segment"}
    return store.Spec(**{**args, **kw})


def test_publish_replaces_only_on_success(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), store.publish(target) as tmp:
        (tmp / "half.txt").write_text("half")
        raise RuntimeError("interrupted")
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and (target / "old.txt").is_file()
    with store.publish(target) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    with store.publish(target, replace=False) as tmp:  # a complete one is there: kept
        (tmp / "newer.txt").write_text("newer")
    assert [p.name for p in target.iterdir()] == ["new.txt"]


def test_published_files_and_folders_are_readable_by_others(tmp_path):
    old = os.umask(0o022)
    try:
        with store.publish(tmp_path / "entry") as tmp:
            (tmp / "a.txt").write_text("a")
        with store.publish_file(tmp_path / "b.json") as tmp:
            tmp.write_text("{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "entry").stat().st_mode) == 0o755  # mkdtemp gives 0700
    assert stat.S_IMODE((tmp_path / "entry" / "a.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json", "entry"]


def test_code_fingerprint_follows_code_not_docstrings(tmp_path, monkeypatch):
    mod = tmp_path / "fpmod.py"
    monkeypatch.syspath_prepend(str(tmp_path))
    tick = iter(range(1, 100))  # distinct modification times even within one clock tick

    def fingerprint(source):
        mod.write_text(textwrap.dedent(source))  # no cache to clear: a changed file is reread
        os.utime(mod, ns=(time.time_ns(), time.time_ns() + next(tick)))
        return store.code_fingerprint("fpmod")["fpmod"]

    base = fingerprint('"""Doc."""\ndef f(x):\n    """Doc."""\n    return x + 1\n')
    assert base == fingerprint(
        '"""Other."""\ndef f(x):  # comment\n    """New."""\n    return x+1\n'
    )
    assert base != fingerprint('"""Doc."""\ndef f(x):\n    """Doc."""\n    return x + 2\n')
    train = store.code_fingerprint("ecgutils.train")
    assert {"ecgutils.train", "ecgutils.models", "ecgutils.dataset", "ecgutils.render"} <= set(
        train
    )  # what it imports, transitively, even inside functions
    assert "ecgutils.interface.plotting" not in train
    assert not set(store.NOT_FINGERPRINTED) & set(train)  # keeping a result does not shape it


def test_key_holds_params_data_code_and_libraries(root):
    a = _spec()
    assert a.key == _spec().key and len(a.key) == 12
    assert a.key != _spec(params={"a": 2}).key and a.key != _spec(data="x").key
    assert a.key != _spec(module="ecgutils.render").key
    src = a.key_source()
    assert set(src["libraries"]) == set(store.LIBRARIES) and src["code"]["ecgutils.segment"]
    assert a.path == root / "cache" / "beats" / f"t-{a.key}"
    with pytest.raises(ValueError, match="Unknown entry kind"):
        _spec(kind="weights")


def test_get_or_build_builds_once_then_reads(root):
    calls = []

    def build(folder):
        calls.append(folder)
        (folder / "x.txt").write_text(str(len(calls)))

    path, built = store.get_or_build(_spec(), build)
    assert built and (path / "x.txt").read_text() == "1" and store.is_complete(path)
    again, built = store.get_or_build(_spec(), build)
    assert again == path and not built and len(calls) == 1
    _, built = store.get_or_build(_spec(), build, force=True)
    assert built and (path / "x.txt").read_text() == "2"
    manifest = json.loads((path / store.MANIFEST).read_text())
    assert manifest["key"] == _spec().key and manifest["params"] == {"a": 1}


WRITER = """
import os, sys, time
from pathlib import Path
from ecgutils import store
store.data_dir = lambda: Path(sys.argv[1])
spec = store.Spec(kind="beats", label="t", params={"a": 1}, module="ecgutils.segment")
def build(folder):
    with open(Path(sys.argv[1]) / "builds.log", "a") as f:
        f.write(f"{os.getpid()}\\n")
    (folder / "x.txt").write_text(str(os.getpid()))
    print("building", flush=True)
    time.sleep(float(sys.argv[2]))
path, built = store.get_or_build(spec, build, force=sys.argv[3] == "force")
print(path, built, flush=True)
"""


def _writer(root: Path, sleep: float, force: bool = False) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), str(sleep), "force" if force else "-"],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_two_processes_building_the_same_entry_leave_one_good_entry(root):
    procs = [_writer(root, 1.5), _writer(root, 1.5)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert (root / "builds.log").read_text().count("\n") == 1  # the second waited, then read
    assert sum(o.strip().endswith("True") for o in outs) == 1
    entries = store.entries(root)
    assert len(entries) == 1 and entries["current"].all()
    assert [p.name for p in (root / "cache" / "beats").iterdir() if not p.name.endswith(".lock")]
    left = [p.name for p in (root / "cache" / "beats").iterdir()]
    assert len([n for n in left if not n.endswith(".lock")]) == 1, left


def test_a_killed_build_leaves_the_previous_entry_served_and_is_cleaned(root):
    path, _ = store.get_or_build(_spec(), lambda f: (f / "x.txt").write_text("old"))
    proc = _writer(root, 60, force=True)  # replaces the entry, killed mid-write
    assert proc.stdout.readline().strip() == "building"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    leftovers = [p for p in path.parent.iterdir() if ".tmp." in p.name]
    assert len(leftovers) == 1
    again, built = store.get_or_build(_spec(), lambda f: pytest.fail("the old entry is good"))
    assert again == path and not built and (path / "x.txt").read_text() == "old"
    assert store.clean_leftovers(path) == leftovers
    assert not [p for p in path.parent.iterdir() if ".tmp." in p.name]


def test_entries_tell_stale_from_current_and_clear_removes_stale(root):
    current, _ = store.get_or_build(_spec(), lambda f: None)
    stale, _ = store.get_or_build(_spec(params={"a": 2}), lambda f: None)
    man = json.loads((stale / store.MANIFEST).read_text())
    man["code"]["ecgutils.segment"] = "0" * 12  # built by an older version of the code
    (stale / store.MANIFEST).write_text(json.dumps(man))
    (root / "cache" / "beats" / "half-written").mkdir()  # no manifest: not an entry
    other = root / "cache" / "beats-0123456789ab"  # not an entry kind's folder: left alone
    other.mkdir()
    table = store.entries(root)
    assert dict(zip(table["path"], table["current"])) == {str(current): True, str(stale): False}
    assert sorted(table["kind"]) == ["beats", "beats"]
    assert store.clear(root=root) == [stale] and other.is_dir()
    assert list(store.entries(root)["path"]) == [str(current)]
    store.clear(everything=True, root=root)
    assert store.entries(root).empty


def test_cache_command_lists_and_clears(root, monkeypatch, capsys):
    from ecgutils import __main__ as cli
    from ecgutils import config

    monkeypatch.setattr(config, "data_dir", lambda: root)
    assert cli.main(["cache"]) == 0
    assert "Nothing stored" in capsys.readouterr().out
    store.get_or_build(_spec(), lambda f: (f / "x.bin").write_bytes(b"0" * 1000))
    assert cli.main(["cache"]) == 0
    out = capsys.readouterr().out
    assert "beats" in out and _spec().key in out and "0 stale" in out
    assert cli.main(["cache", "--all"]) == 0
    assert "Removed 1 entries" in capsys.readouterr().out
    assert store.entries(root).empty


def test_no_leftover_is_removed_while_its_writer_lives(tmp_path):
    target = tmp_path / "e"
    live = tmp_path / f".e.tmp.{store._HOST}.{os.getpid()}.abcd1234"
    live.mkdir()
    dead = tmp_path / f".e.tmp.{store._HOST}.999999999.abcd1234"
    dead.mkdir()
    foreign = tmp_path / ".e.tmp.otherhost.1.abcd1234"
    foreign.mkdir()
    assert store.clean_leftovers(target) == [dead]
    old = time.time() - 2 * store.STALE_FOREIGN_S
    os.utime(foreign, (old, old))
    assert store.clean_leftovers(target) == [foreign] and live.is_dir()


def _store_builders() -> list[str]:
    """Every module that makes store entries (constructs ``store.Spec`` with its own name)."""
    import ast

    from ecgutils.research import layout

    found = []
    for module in layout.modules():
        tree = ast.parse(layout._path(module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", "")) == "Spec"
            ):
                found.append(module)
                break
    return found


def test_keys_follow_the_code_that_builds_not_what_shows_it():
    """A stored entry's key covers its builder's module and what that imports, never the
    benchmarks, the README writer, the registry, plots, widgets or the command line: editing a
    printout keeps every trained model and table valid."""
    builders = _store_builders()
    assert {"ecgutils.trees", "ecgutils.train", "ecgutils.dataset", "ecgutils.detect"} <= set(
        builders
    )
    shown = {
        "ecgutils.research.bench", "ecgutils.research.registry", "ecgutils.research.layout",
        "ecgutils.interface.plotting", "ecgutils.interface.widgets", "ecgutils.__main__",
        "ecgutils.course", "ecgutils.book",
    }  # fmt: skip
    for module in builders:
        covered = set(store.code_fingerprint(module))
        assert module in covered
        assert not covered & shown, f"{module}'s key covers {sorted(covered & shown)}"
