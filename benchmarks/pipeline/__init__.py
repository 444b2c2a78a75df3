"""End-to-end pipeline throughput benchmark (`python -m benchmarks.pipeline`)."""
