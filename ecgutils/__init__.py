"""ecgutils: the shared logic of the course "ECG arrhythmia classification with a 2-D CNN".

One module per step of the method; notebooks import from here instead of re-deriving.

- :mod:`ecgutils.config`: data folder, record list, run profiles (``ECG_PROFILE``).
- :mod:`ecgutils.classes`: beat class schemes (seed7, paper8, aami5) as one table.
- :mod:`ecgutils.data`: fetch and verify MIT-BIH, load records and annotations, count classes.
- :mod:`ecgutils.plotting`: the course palette and its figures.
- :mod:`ecgutils.widgets`: thin ipywidgets front-ends over the plotting functions.
"""

import warnings

# wfdb 4.3 calls pandas with ``inplace=True``, which pandas 3.1 deprecates: not ours to fix,
# and not something a student should see under every record they load.
warnings.filterwarnings("ignore", message="The inplace keyword", module=r"wfdb(\..*)?$")

from .classes import CLASS_TABLE, SCHEMES, label_symbols, scheme_classes, symbol_map  # noqa: E402
from .config import MITDB_FS, MITDB_RECORDS, PROFILES, Profile, get_profile  # noqa: E402
from .data import Record, count_classes, fetch, load_annotations, load_record  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "CLASS_TABLE",
    "MITDB_FS",
    "MITDB_RECORDS",
    "PROFILES",
    "SCHEMES",
    "Profile",
    "Record",
    "count_classes",
    "fetch",
    "get_profile",
    "label_symbols",
    "load_annotations",
    "load_record",
    "scheme_classes",
    "symbol_map",
]
