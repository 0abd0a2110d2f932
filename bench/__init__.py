"""Benchmark harness for the decision path (`make bench`, or `python -m bench`).

Every figure is printed beside the floor measured in the same run: `opa bench` of the entrypoint
(what OPA itself costs) and a raw keep-alive `http.client` POST to the same OPA path (the least
any Python caller can pay). Results are written to bench/results/latest.json (git-ignored).
"""
