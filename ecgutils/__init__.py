"""ecgutils: the method of the course "ECG arrhythmia classification with a 2-D CNN".

The modules, in the order the method runs (each opens with its one job; where a chapter writes
the code, the module says which chapter is its source):

1. :mod:`~ecgutils.config` (folders, records, DS1/DS2, profiles), :mod:`~ecgutils.classes`
   (annotation symbols to classes), :mod:`~ecgutils.store` (the one cache under ``data/``),
   :mod:`~ecgutils.backend` (TensorFlow quietly, fast tree binning).
2. :mod:`~ecgutils.data`: fetch and verify MIT-BIH, load records (chapter 01).
3. :mod:`~ecgutils.detect`: R peaks (chapter 02).
4. :mod:`~ecgutils.segment`: beats cut half-way to their neighbours (chapter 02).
5. :mod:`~ecgutils.render`: beats drawn as grayscale images (chapter 03).
6. :mod:`~ecgutils.augment`: nine crops (chapter 04).
7. :mod:`~ecgutils.dataset`: a profile's beats as cached arrays, RR and rhythm features.
8. :mod:`~ecgutils.models`: the CNNs (chapter 05).
9. :mod:`~ecgutils.train`: training and the cached models (chapter 06).
10. :mod:`~ecgutils.evaluate`: metrics, splits, EC57 (chapters 07-08).
11. :mod:`~ecgutils.trees`: the trees on what the image carries (chapter 09).
12. :mod:`~ecgutils.selftraining`: a new patient's own beats teach the trees (chapter 09).
13. :mod:`~ecgutils.explain`: Grad-CAM, occlusion (chapter 11).

Deployment, :mod:`ecgutils.deploy`: ``ecgfile`` (reading a file), ``predict`` (one pipeline from a
recording to each beat's class), ``release`` (the shipped models). Interface,
:mod:`ecgutils.interface`: ``plotting``, ``explore``, ``widgets``. The course's tooling:
:mod:`~ecgutils.chapters`, :mod:`~ecgutils.course`, :mod:`~ecgutils.book`. Research beyond the
course lives in :mod:`ecgutils.research`, which the method never imports.
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
