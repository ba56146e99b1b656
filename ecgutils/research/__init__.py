"""Research beyond the course: studies on new patients, benchmarks, the experiment registry.

Everything here builds on the method in :mod:`ecgutils` and the method never imports it (a test
fails when it does); only the command line (``python -m ecgutils``) offers both.

- :mod:`.registry`: the named experiments (``python -m ecgutils experiment run NAME``), their
  stored tables under ``ecgutils/resources/results/`` and the chapters' :func:`~.registry.show`.
- :mod:`.readme`: the README's result tables, written from the stored results.
- :mod:`.studies`: cross-validation, the variants of chapter 06, the inter-patient CNN recipe,
  its ablation and the protocol comparison.
- :mod:`.adaptive`: the trees' balance exponent on DS1 folds, the CNN/trees comparison, the
  patient-adaptive protocol.
- :mod:`.features`: the feature sets tried for new patients and the joined decision.
- :mod:`.baselines`: a 1-D CNN and classical features against the course's model.
- :mod:`.bench`: the benchmarks behind ``python -m ecgutils bench ...``.
- :mod:`.plots`: the figures of these studies.
"""
