"""Beat class schemes: which WFDB annotation symbols make which class.

All schemes live in one table, :data:`CLASS_TABLE` (one row per scheme and class), so a
notebook can show it and code can read it:

* ``seed7``: the seven classes of the popular re-implementation (N, L, R, A, V, /, E).
* ``paper8``: ``seed7`` plus ``!`` ventricular flutter wave, as in Jun et al. 2018.
* ``aami5``: the five classes of ANSI/AAMI EC57 (N, S, V, F, Q).

A symbol that a scheme does not list (for example ``f`` in ``seed7``) is left out of that
scheme: :func:`label_symbols` gives it the index ``-1``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from wfdb.io.annotation import ann_label_table, is_qrs

_SCHEME_ROWS = [
    # scheme, class, symbols, name, description
    ("seed7", "N", "N", "Normal", "Normal beat"),
    ("seed7", "L", "L", "LBBB", "Left bundle branch block beat"),
    ("seed7", "R", "R", "RBBB", "Right bundle branch block beat"),
    ("seed7", "A", "A", "APC", "Atrial premature contraction"),
    ("seed7", "V", "V", "PVC", "Premature ventricular contraction"),
    ("seed7", "/", "/", "Paced", "Paced beat"),
    ("seed7", "E", "E", "VEB", "Ventricular escape beat"),
    ("paper8", "N", "N", "Normal", "Normal beat"),
    ("paper8", "L", "L", "LBBB", "Left bundle branch block beat"),
    ("paper8", "R", "R", "RBBB", "Right bundle branch block beat"),
    ("paper8", "A", "A", "APC", "Atrial premature contraction"),
    ("paper8", "V", "V", "PVC", "Premature ventricular contraction"),
    ("paper8", "/", "/", "Paced", "Paced beat"),
    ("paper8", "E", "E", "VEB", "Ventricular escape beat"),
    ("paper8", "!", "!", "VFW", "Ventricular flutter wave"),
    (
        "aami5", "N", "N L R e j", "Non-ectopic",
        "Normal, bundle branch block, atrial escape and nodal escape beats",
    ),
    (
        "aami5", "S", "A a J S", "SVEB",
        "Supraventricular ectopic: atrial, aberrated atrial, nodal and SV premature beats",
    ),
    ("aami5", "V", "V E", "VEB", "Ventricular ectopic: premature ventricular and escape beats"),
    ("aami5", "F", "F", "Fusion", "Fusion of ventricular and normal beat"),
    ("aami5", "Q", "/ f Q", "Unknown", "Paced, fusion of paced and normal, unclassifiable beats"),
]  # fmt: skip

#: One row per (scheme, class): columns scheme, cls, symbols (tuple), name, description.
CLASS_TABLE = pd.DataFrame(
    [(s, c, tuple(sym.split()), n, d) for s, c, sym, n, d in _SCHEME_ROWS],
    columns=["scheme", "cls", "symbols", "name", "description"],
)

#: The scheme names, in the order the course introduces them.
SCHEMES: tuple[str, ...] = tuple(dict.fromkeys(CLASS_TABLE["scheme"]))

#: WFDB symbols that mark a beat (wfdb's ``is_qrs``; includes ``!`` flutter waves).
BEAT_SYMBOLS: frozenset[str] = frozenset(
    ann_label_table.symbol[ann_label_table.label_store == i].iloc[0]
    for i, qrs in enumerate(is_qrs)
    if qrs and (ann_label_table.label_store == i).any()
)

#: Every WFDB annotation symbol with its description (from wfdb's own label table).
SYMBOL_DESCRIPTIONS: dict[str, str] = dict(
    zip(ann_label_table.symbol, ann_label_table.description, strict=True)
)


def _check_scheme(scheme: str) -> pd.DataFrame:
    rows = CLASS_TABLE[CLASS_TABLE["scheme"] == scheme]
    if rows.empty:
        raise ValueError(f"Unknown class scheme {scheme!r}. Choose one of: {', '.join(SCHEMES)}.")
    return rows


def scheme_table(scheme: str) -> pd.DataFrame:
    """The rows of :data:`CLASS_TABLE` for one scheme, indexed by class code."""
    return _check_scheme(scheme).drop(columns="scheme").set_index("cls")


def scheme_classes(scheme: str) -> list[str]:
    """Class codes of a scheme, in their fixed order (the order of label indices)."""
    return list(_check_scheme(scheme)["cls"])


def symbol_map(scheme: str) -> dict[str, str]:
    """Map each WFDB symbol the scheme uses to its class code, e.g. ``{'e': 'N', ...}``."""
    rows = _check_scheme(scheme)
    return {sym: cls for cls, syms in zip(rows["cls"], rows["symbols"]) for sym in syms}


def label_symbols(symbols: Iterable[str], scheme: str) -> np.ndarray:
    """Class index of each annotation symbol under a scheme.

    Parameters
    ----------
    symbols : iterable of str, length n
        WFDB annotation symbols, e.g. ``record.beats.symbol``.
    scheme : str
        ``seed7``, ``paper8`` or ``aami5``.

    Returns
    -------
    (n,) int64 array
        Index into :func:`scheme_classes`, or ``-1`` where the scheme leaves the symbol out.
    """
    index = {sym: scheme_classes(scheme).index(cls) for sym, cls in symbol_map(scheme).items()}
    return np.fromiter((index.get(s, -1) for s in symbols), dtype=np.int64)


#: Typical windows of the waves relative to the R peak, seconds (a heart rate of 60-100 bpm:
#: the P wave ends 50-80 ms before R; a narrow QRS lasts about 100 ms; the T wave ends within
#: 450 ms of R). Wide ventricular beats and fast or slow rhythms shift them: a rough guide, not
#: a delineation (chapter 01's primer, chapter 11's heat per wave).
WAVE_WINDOWS: dict[str, tuple[float, float]] = {
    "before P": (-np.inf, -0.25),
    "P": (-0.25, -0.06),
    "QRS": (-0.06, 0.06),
    "ST-T": (0.06, 0.45),
    "after T": (0.45, np.inf),
}

#: What sets each paper8 class apart on an ECG (chapter 01's primer).
CLASS_SIGNS: dict[str, str] = {
    "N": "a P wave before every QRS; a narrow QRS (under 120 ms); regular RR intervals",
    "L": "left bundle branch block: a wide QRS (120 ms or more), broad and notched; P present",
    "R": "right bundle branch block: a wide QRS with a late extra deflection; P present",
    "A": "atrial premature beat: early (short RR before); an abnormal or hidden P; a narrow QRS",
    "V": "premature ventricular contraction: early, a wide bizarre QRS without a P, a T opposite "
    "to it, then a long pause",
    "/": "paced beat: a sharp pacing spike right before a wide QRS",
    "E": "ventricular escape: late (long RR before), a wide QRS without a P",
    "!": "ventricular flutter wave: a fast sine-like wave; no separate P, QRS or T",
}
