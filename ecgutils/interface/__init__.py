"""The interface: the course's figures, its widgets and the prediction page.

:mod:`.plotting` draws (one class palette for the whole course), :mod:`.explore` computes what
the explorer widgets show as plain functions (tested without a browser), :mod:`.widgets` wires
controls to them. None of it changes a result.
"""
