"""Policy change impact: replay recorded decisions under a candidate policy, and shadow evaluation.

- `policy`: a candidate policy (a policies/ folder or a bundle archive) as a verified bundle archive.
- `compare`: what a decision is for comparison (status, lane or target, model, cost, reasons), the
  change classes between two of them, and whether the second is more permissive.
- `core`: `replay(log, policy, baseline=None)` re-decides every recorded input at its recorded
  evaluation time through a second managed OPA and builds the report; the CI gate.
- `render`: the report as a text table, JSON or one self-contained HTML file.
- `shadow`: `ShadowEvaluator`, used by `Router(shadow_policy=...)`, and the shadow log.
"""
