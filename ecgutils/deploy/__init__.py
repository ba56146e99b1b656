"""Deployment: a recording in, each beat's class and sample range out.

:mod:`.ecgfile` reads a file (WFDB, text exports) into one lead; :mod:`.predict` is the one
pipeline from that lead to each beat's class (resample, detect, cut, the model's inputs,
classify, answer) with the shipped models by name; :mod:`.release` trains and ships them.
"""
