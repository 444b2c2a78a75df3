"""Drafting benchmarks (`python -m benchmarks.drafting`)."""
