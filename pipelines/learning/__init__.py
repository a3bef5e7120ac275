"""The learned models (docs/models.md): an eligibility estimate for ELIG path (b) and a triage of the
departments' cases, with scikit-learn. Their configuration, feature labels and thresholds are data in
``models/eligibility/`` and ``models/triage/`` (read by :mod:`pipelines.learning.spec`).

- ``spec``        the one reader of models/<model>/ (settings, cut-off policy, priorities, bounds, labels)
- ``data``        features (warehouse/learning/household_features.sql), labels, the no-leakage check
- ``artifact``    skops + JSON artifacts, version checks on load
- ``explain``     path contributions: which feature groups moved a probability
- ``metrics``     ROC-AUC, precision/recall at the cut-off, top-k precision, calibration, groups
- ``card``        model cards (card.md + calibration.png)
- ``eligibility`` train; score into core.eligibility_month (the nightly stage)
- ``triage``      train; prioritise the open cases into mart.case_priority (the nightly stage)
- ``priority``    the priority of an extract row and the order (light: the extracts import it)
- ``train``       ``lowincome model train`` and the model_training DAG
"""
