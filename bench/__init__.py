"""Benchmarks, run by `make bench` (`python -m bench`).

Each `bench/<name>.py` module defines `run() -> Iterable[dict]`; every dict is printed as
one JSON line `{"name", "value", "unit", "baseline", ...}`, the baseline measured in the
same run. `python -m bench photos` runs only `bench/photos.py`.
"""
