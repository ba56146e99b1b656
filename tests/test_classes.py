"""ecgutils.classes: the three class schemes as one table."""

from __future__ import annotations

import pytest

from ecgutils import classes
from ecgutils.classes import label_symbols, scheme_classes, symbol_map


def test_scheme_classes_in_order():
    assert scheme_classes("seed7") == ["N", "L", "R", "A", "V", "/", "E"]
    assert scheme_classes("paper8") == ["N", "L", "R", "A", "V", "/", "E", "!"]
    assert scheme_classes("aami5") == ["N", "S", "V", "F", "Q"]


def test_aami5_mapping_is_ec57():
    m = symbol_map("aami5")
    groups = {c: sorted(s for s, k in m.items() if k == c) for c in "NSVFQ"}
    assert groups == {
        "N": sorted("NLRej"),
        "S": sorted("AaJS"),
        "V": ["E", "V"],
        "F": ["F"],
        "Q": sorted("/fQ"),
    }


def test_each_symbol_in_at_most_one_class_and_all_are_beats():
    for scheme in classes.SCHEMES:
        rows = classes.scheme_table(scheme)
        symbols = [s for syms in rows["symbols"] for s in syms]
        assert len(symbols) == len(set(symbols)), scheme
        assert set(symbols) <= classes.BEAT_SYMBOLS, scheme
        assert rows["name"].notna().all() and rows["description"].str.len().gt(5).all()


def test_beat_symbols_include_flutter_but_not_rhythm_or_noise():
    assert {"N", "V", "!", "/", "f", "Q"} <= classes.BEAT_SYMBOLS
    assert not {"+", "~", '"', "x", "|", "[", "]"} & classes.BEAT_SYMBOLS


def test_label_symbols():
    labels = label_symbols(["N", "!", "f", "E", "+"], "paper8")
    assert labels.tolist() == [0, 7, -1, 6, -1]
    assert label_symbols(["N", "!", "f", "E"], "aami5").tolist() == [0, -1, 4, 2]
    assert label_symbols([], "seed7").shape == (0,)


def test_unknown_scheme():
    with pytest.raises(ValueError, match="Unknown class scheme 'aami4'.*seed7, paper8, aami5"):
        scheme_classes("aami4")
