"""Review-queue load benchmark (`python -m benchmarks.review`)."""
