"""The fault benchmark: workers killed and stopped during drafting and delivery (`python -m benchmarks.faults`)."""
