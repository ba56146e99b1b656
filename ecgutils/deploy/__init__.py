"""Deployment: a recording in, each beat's class and sample range out.

:mod:`.recording` and :mod:`.ecgfile` open a file (WFDB, EDF, text exports) as one lead;
:mod:`.windows` cuts it into windows; :mod:`.predict` is the one pipeline from that lead to each
beat's class (resample, detect, cut, the model's inputs, classify, answer), asking the models of
:mod:`.models` (the shipped ones by name); :mod:`.holter` summarises a long recording;
:mod:`.release` trains and ships the models.
"""
