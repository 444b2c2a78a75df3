"""Aggregate queries over many posts: `python -m benchmarks.aggregates`."""
