"""Run every benchmark module in this package and print one JSON object per line."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys

import bench


def main(selected: list[str]) -> None:
    for module_info in pkgutil.iter_modules(bench.__path__):
        if module_info.name.startswith("_") or (selected and module_info.name not in selected):
            continue
        module = importlib.import_module(f"bench.{module_info.name}")
        if hasattr(module, "run"):
            for result in module.run():
                print(json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
