"""One rule for finding an object: every getter that takes an id, in every domain, takes
the actor too and goes through the domain's policy (issue: one visibility policy)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

DOMAINS = (
    "accounts",
    "org",
    "checklists",
    "inspections",
    "media",
    "rectification",
    "notifications",
)


def _getters():
    for package_name in DOMAINS:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package_name}.{info.name}")
            for name, func in inspect.getmembers(module, inspect.isfunction):
                if func.__module__ != module.__name__:
                    continue
                if not name.startswith(("get_", "visible_")):
                    continue
                params = list(inspect.signature(func).parameters.values())
                if params and (params[0].name == "id" or params[0].name.endswith("_id")):
                    yield f"{module.__name__}.{name}", inspect.signature(func).parameters


def test_every_getter_by_id_in_every_domain_requires_an_actor():
    found = dict(_getters())
    assert {"org.policy.visible_unit", "accounts.policy.visible_user"} <= set(found)
    assert len(found) >= 15
    without = sorted(name for name, params in found.items() if "actor" not in params)
    assert without == []
    optional = sorted(
        name
        for name, params in found.items()
        if params["actor"].default is not inspect.Parameter.empty
    )
    assert optional == []
