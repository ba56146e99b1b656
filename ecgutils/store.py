"""The one store for everything the course computes and keeps under ``data/``.

Every cached thing (R-peak detections, beat data sets, trained networks, cross-validation
tables, trees, baseline tables) is an *entry*: a folder ``<root>/<kind>/<label>-<key>/`` whose
``entry.json`` is written last, so an entry without it does not exist. The key hashes

- the parameters that decide the result,
- a fingerprint of the input data (for example MIT-BIH's published checksums),
- a fingerprint of the code that produces it: the syntax tree, docstrings left out, of the
  producing ``ecgutils`` module and of every ``ecgutils`` module it imports, directly or not
  (so editing ``models.py`` trains new models, and editing a docstring does not), and
- the versions of the libraries that shape it (TensorFlow, Keras, scikit-learn, numpy, ...).

Writing goes through :func:`publish` (a folder) or :func:`publish_file` (one file): the new
version is written beside the old under a unique hidden name, swapped in, and only then is the
old one removed; a crash leaves the old entry in place and a hidden leftover that the next
write in the same folder cleans. Two processes building the same entry at once (two kernels,
two students sharing ``ECG_DATA_DIR``) take turns through a lock file: the second finds the
first one's entry and uses it. New files and folders get the ordinary permissions of the
process's umask (readable by everyone on a shared data folder), never ``mkdtemp``'s 0700.

``python -m ecgutils cache`` lists the entries (:func:`entries`) and clears stale ones
(:func:`clear`).
"""

from __future__ import annotations

import ast
import ctypes
import errno
import hashlib
import importlib.util
import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path

from .config import data_dir

#: Name of the manifest file that marks a complete entry.
MANIFEST = "entry.json"
#: Where each kind of entry lives, under the data folder.
KIND_ROOTS: dict[str, str] = {
    "rpeaks": "cache",
    "beats": "cache",
    "model": "models",
    "cv": "models",
    "trees": "models",
    "baselines": "models",
}
#: Libraries whose versions enter every key unless an entry names its own.
LIBRARIES: tuple[str, ...] = (
    "numpy", "scipy", "pandas", "wfdb", "biosppy", "opencv-python", "scikit-learn",
    "tensorflow", "keras",
)  # fmt: skip
#: Modules that never shape a stored result (they keep it, or import a library quietly): left out
#: of code fingerprints, so editing them does not throw every cache away.
NOT_FINGERPRINTED: tuple[str, ...] = ("ecgutils.store", "ecgutils.backend")
#: Leftovers of a writer on another machine are removed after this many seconds.
STALE_FOREIGN_S = 24 * 3600
_HOST = socket.gethostname().replace(".", "_")


# --------------------------------------------------------------------------------------------
# Keys


def key_of(obj) -> str:
    """12 hex digits of the SHA-256 of ``obj`` as canonical JSON (sorted keys)."""
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _module_path(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ValueError(f"No module {name!r} to fingerprint.")
    return Path(spec.origin)


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _parsed(name: str) -> tuple[str, tuple[str, ...]]:
    """(fingerprint of one module's code, the ecgutils modules it imports), read again whenever
    the file changes (a student editing ``models.py`` in a running kernel gets a new key)."""
    path = _module_path(name)
    st = path.stat()
    return _parsed_file(name, path, st.st_mtime_ns, st.st_size)


@cache
def _parsed_file(name: str, path: Path, mtime_ns: int, size: int) -> tuple[str, tuple[str, ...]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    candidates = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x / from .x import y
                base = ".".join(package[: len(package) - node.level + 1])
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            candidates |= {mod} | {f"{mod}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            candidates |= {a.name for a in node.names}
    imported = {n for n in candidates if n.split(".")[0] == "ecgutils" and _is_module(n)}
    digest = hashlib.sha256(ast.dump(_strip_docstrings(tree)).encode()).hexdigest()[:12]
    return digest, tuple(sorted(imported - {name}))


def _is_module(name: str) -> bool:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin is not None and spec.origin.endswith(".py")


def code_fingerprint(module: str) -> dict[str, str]:
    """Fingerprints of ``module``'s code and of every ecgutils module it imports, transitively.

    Parameters
    ----------
    module : str
        A module name such as ``"ecgutils.train"``.

    Returns
    -------
    dict module name -> 12 hex digits
        Each module's syntax tree, docstrings left out (comments and formatting never enter
        the tree), hashed; :data:`NOT_FINGERPRINTED` modules are left out.
    """
    seen: dict[str, str] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen or name in NOT_FINGERPRINTED:
            continue
        digest, imports = _parsed(name)
        seen[name] = digest
        todo.extend(imports)
    return dict(sorted(seen.items()))


def library_versions(names: Iterable[str] = LIBRARIES) -> dict[str, str]:
    """Installed version of each distribution (``"absent"`` when it is not installed)."""
    return dict(_versions(tuple(names)))


@cache
def _versions(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = "absent"
    return tuple(out.items())


@dataclass(frozen=True)
class Spec:
    """What decides one entry: its kind, a readable label, and everything that enters its key.

    Attributes
    ----------
    kind : str
        One of :data:`KIND_ROOTS` (``"model"``, ``"beats"``, ...).
    label : str
        Readable prefix of the folder name (``"quick-compact"``); not part of the key.
    params : dict
        JSON-able parameters that decide the result.
    module : str
        The module that produces the entry; its code and what it imports are fingerprinted.
    data : str
        Fingerprint of the input data (MIT-BIH checksums, or another entry's key).
    libraries : tuple of str
        Distributions whose versions enter the key.
    """

    kind: str
    label: str
    params: dict
    module: str
    data: str = ""
    libraries: tuple[str, ...] = LIBRARIES
    _code: dict = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if self.kind not in KIND_ROOTS:
            raise ValueError(f"Unknown entry kind {self.kind!r}; choose from {list(KIND_ROOTS)}.")
        if self._code is None:
            object.__setattr__(self, "_code", code_fingerprint(self.module))

    @property
    def code(self) -> dict[str, str]:
        return self._code

    def key_source(self) -> dict:
        return {
            "kind": self.kind,
            "params": self.params,
            "data": self.data,
            "code": self.code,
            "libraries": library_versions(self.libraries),
        }

    @property
    def key(self) -> str:
        return key_of(self.key_source())

    @property
    def path(self) -> Path:
        return data_dir() / KIND_ROOTS[self.kind] / self.kind / f"{self.label}-{self.key}"


def is_complete(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` is a finished entry (its manifest is there)."""
    return (Path(folder) / MANIFEST).is_file()


def get_or_build(
    spec: Spec, build: Callable[[Path], object], *, force: bool = False
) -> tuple[Path, bool]:
    """The entry of ``spec``: built by ``build(folder)`` only when it is not stored yet.

    ``build`` receives an empty hidden folder to fill; when it returns, the manifest is added
    and the folder published at ``spec.path``. Two processes asking at once take turns (a lock
    file beside the entry): the second finds the first's entry. ``force=True`` builds again
    and replaces the stored one (readers see the old or the new, never neither).

    Returns
    -------
    (path, built)
        The entry's folder, and whether this call built it.
    """
    path = spec.path
    if not force and is_complete(path):
        _note(spec, built=False)
        return path, False
    with _locked(path):
        if not force and is_complete(path):
            _note(spec, built=False)
            return path, False
        with publish(path) as tmp:
            t0 = time.perf_counter()
            build(tmp)
            manifest = {
                **spec.key_source(),
                "key": spec.key,
                "label": spec.label,
                "module": spec.module,
                "built": datetime.now(UTC).isoformat(timespec="seconds"),
                "build_seconds": round(time.perf_counter() - t0, 1),
            }
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, default=str))
    _note(spec, built=True)
    return path, True


_TRACKERS: list[dict] = []


def _note(spec: Spec, *, built: bool) -> None:
    for t in _TRACKERS:
        t["built" if built else "reused"].append(f"{spec.kind}/{spec.label}")


@contextmanager
def track():
    """Record which entries the enclosed code built and which it found stored.

    Yields a dict ``{"built": [...], "reused": [...]}`` of ``"kind/label"`` strings, filled as
    :func:`get_or_build` runs (in this process); an experiment's provenance says with it whether
    its minutes were spent computing or reading.
    """
    log: dict = {"built": [], "reused": []}
    _TRACKERS.append(log)
    try:
        yield log
    finally:
        _TRACKERS.remove(log)


# --------------------------------------------------------------------------------------------
# Publishing


def _leftover_name(target: Path, tag: str) -> Path:
    return target.with_name(f".{target.name}.{tag}.{_HOST}.{os.getpid()}.{uuid.uuid4().hex[:8]}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(target: str | os.PathLike) -> list[Path]:
    """Remove what killed writers of ``target`` left beside it; restore a lost entry.

    A leftover is ``.<name>.tmp.<host>.<pid>.*`` (a half-written version) or
    ``.<name>.old.<host>.<pid>.*`` (a previous version moved aside). It is removed when its
    process is gone (same host) or it is a day old (another host). If ``target`` is missing and
    a complete previous version was left aside, that version is put back.

    Returns
    -------
    list of Path
        What was removed or restored.
    """
    target = Path(target)
    done = []
    if not target.parent.is_dir():
        return done
    prefix = f".{target.name}."
    for p in sorted(target.parent.iterdir()):
        if not p.name.startswith(prefix) or p.name.endswith(".lock"):
            continue
        parts = p.name[len(prefix) :].split(".")
        if len(parts) < 4 or parts[0] not in ("tmp", "old"):
            continue
        host, pid = parts[1], parts[2]
        if host == _HOST:
            if not pid.isdigit() or _pid_alive(int(pid)):
                continue
        else:
            try:
                if time.time() - p.lstat().st_mtime < STALE_FOREIGN_S:
                    continue
            except FileNotFoundError:
                continue
        if parts[0] == "old" and not target.exists() and (p.is_file() or is_complete(p)):
            try:
                os.rename(p, target)
                done.append(target)
                continue
            except OSError:
                pass
        _remove(p)
        done.append(p)
    return done


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


_RENAME_EXCHANGE = 2
_libc = None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    global _libc
    if not hasattr(os, "sched_getaffinity"):  # not Linux
        return False
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        fn = _libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    res = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if res == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


@contextmanager
def publish(folder: str | os.PathLike, *, replace: bool = True) -> Iterator[Path]:
    """Write a folder all at once.

    Yields an empty hidden sibling (``.<name>.tmp.<host>.<pid>.<random>``) to fill. When the
    block ends without error the sibling becomes ``folder``: swapped in atomically where the
    system can (Linux), else by moving the old version aside first; only then is the old one
    removed. On error the sibling is removed and ``folder`` is left as it was. With
    ``replace=False`` a ``folder`` that exists by then is kept and the new one discarded.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(folder)
    tmp = _leftover_name(folder, "tmp")
    os.mkdir(tmp)  # the umask's permissions, unlike mkdtemp's 0700
    try:
        yield tmp
        _swap_in(tmp, folder, replace=replace)
    finally:
        _remove(tmp)


def _swap_in(tmp: Path, target: Path, *, replace: bool) -> None:
    for _ in range(20):
        if not target.exists():
            try:
                os.rename(tmp, target)
                return
            except OSError as exc:  # someone else published first
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR):
                    raise
                continue
        if not replace:
            return  # another writer published first: theirs stays
        if target.is_dir() and _exchange(tmp, target):
            return  # tmp now holds the old version; the caller removes it
        old = _leftover_name(target, "old")
        try:
            os.rename(target, old)
        except FileNotFoundError:
            continue
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.exists():
                os.rename(old, target)
            raise
        _remove(old)
        return
    raise OSError(f"Could not publish {target}: other writers kept replacing it.")


@contextmanager
def publish_file(path: str | os.PathLike) -> Iterator[Path]:
    """Write one file all at once: yields a hidden temporary path beside ``path`` to write;
    it replaces ``path`` atomically when the block ends without error (removed on error)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path)
    tmp = _leftover_name(path, "tmp")
    tmp = tmp.with_name(tmp.name + path.suffix)  # writers that add a suffix (np.save) agree
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        _remove(tmp)


@contextmanager
def _locked(target: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``.<name>.lock`` beside ``target`` (no lock where the system
    has none; the publish step is safe without it, only work may be done twice)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    lock = target.with_name(f".{target.name}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# --------------------------------------------------------------------------------------------
# Listing and clearing


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def entries(root: str | os.PathLike | None = None):
    """Every stored entry: kind, label, key, size, age and whether the current code uses it.

    An entry is *current* when its code fingerprint and library versions equal the ones this
    installation would use; a stale one can never be read again and is safe to clear.

    Returns
    -------
    DataFrame
        Columns kind, label, key, MB, age (days), current, path; sorted by kind and label.
    """
    import pandas as pd

    base = Path(root) if root is not None else data_dir()
    rows = []
    for sub in sorted(set(KIND_ROOTS.values())):
        for kind_dir in sorted((base / sub).glob("*")):
            if kind_dir.name.startswith("."):
                continue
            if kind_dir.name not in KIND_ROOTS or not kind_dir.is_dir():
                continue
            for folder in sorted(kind_dir.iterdir()):
                if folder.name.startswith(".") or not is_complete(folder):
                    continue
                rows.append(_describe(folder))
    cols = ["kind", "label", "key", "MB", "age (days)", "current", "path"]
    return pd.DataFrame(rows, columns=cols)


def _describe(folder: Path) -> dict:
    man = json.loads((folder / MANIFEST).read_text())
    try:
        code_now = code_fingerprint(man["module"])
    except (ValueError, ImportError, SyntaxError, OSError):
        code_now = None
    libs_now = library_versions(man.get("libraries", {}))
    current = code_now == man.get("code") and libs_now == man.get("libraries")
    built = datetime.fromisoformat(man["built"])
    return {
        "kind": man["kind"],
        "label": man["label"],
        "key": man["key"],
        "MB": round(_size(folder) / 1e6, 2),
        "age (days)": round((datetime.now(UTC) - built).total_seconds() / 86400, 2),
        "current": bool(current),
        "path": str(folder),
    }


def clear(*, everything: bool = False, root: str | os.PathLike | None = None) -> list[Path]:
    """Remove stale entries (or, with ``everything=True``, all of them) and writers' leftovers.

    Returns
    -------
    list of Path
        The folders removed.
    """
    table = entries(root)
    removed = []
    for _, row in table.iterrows():
        if everything or not row["current"]:
            path = Path(row["path"])
            with _locked(path):
                _remove(path)
            removed.append(path)
    base = Path(root) if root is not None else data_dir()
    for sub in set(KIND_ROOTS.values()):
        for kind_dir in (base / sub).glob("*"):
            if kind_dir.is_dir():
                for p in kind_dir.iterdir():
                    if not p.name.startswith(".") and p.is_dir():
                        removed.extend(clean_leftovers(p))
    return removed
