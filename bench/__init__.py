"""The benchmark: `scripts/bench` (see README.md)."""
