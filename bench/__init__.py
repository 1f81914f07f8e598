"""Benchmarks: `make bench` (`python -m bench`) runs every module here that has `run()`.

Each result is one JSON line `{"name", "value", "unit", "baseline"}`, the baseline measured
in the same run on the same machine, so numbers compare across machines.
"""
