"""Triage and watch-rule benchmark over a hand-labelled set of ja/en posts (python -m benchmarks.triage)."""
