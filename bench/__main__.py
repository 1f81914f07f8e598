"""Run every benchmark module in bench/ (or the ones named) and print JSON lines."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path


def main(names: list[str]) -> int:
    here = Path(__file__).parent
    modules = sorted(
        info.name for info in pkgutil.iter_modules([str(here)]) if not info.name.startswith("_")
    )
    for name in names or modules:
        module = importlib.import_module(f"bench.{name}")
        for result in module.run():
            print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
