"""Keep the plugin manual honest: every hook documented in one template, in the guide and in
the contracts, and nothing else in hookspecs.py pretending to be a hook."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from vmcore import hookspecs

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "plugin-authors.md"
CONTRACTS = ROOT / "docs" / "contracts.md"

SPECS = {
    name: fn
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("vmcore_")
}


def template_problems(fn) -> list[str]:
    """What a hookspec's docstring lacks: a summary, a ``:param:`` per argument, ``:return:``,
    ``:firstresult:`` and when it is called."""
    doc = inspect.getdoc(fn) or ""
    problems = []
    if not doc or not doc.splitlines()[0].strip().endswith("."):
        problems.append("summary line")
    for param in inspect.signature(fn).parameters:
        if not re.search(rf"^:param {param}:", doc, re.MULTILINE):
            problems.append(f":param {param}:")
    for field in (":return:", ":firstresult:"):
        if field not in doc:
            problems.append(field)
    if "Called" not in doc:
        problems.append("when it is called")
    return problems


def test_the_template_check_catches_omissions():
    def vmcore_bad(machine, reason):
        """Summary.

        :param machine: documented.

        Called sometimes.

        :return: nothing.
        """

    assert template_problems(vmcore_bad) == [":param reason:", ":firstresult:"]


def test_there_are_hooks():
    assert len(SPECS) >= 9


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hookspec_follows_the_template(name):
    fn = SPECS[name]
    assert template_problems(fn) == []
    assert getattr(fn, "vmcore_spec", None) is not None, "not marked with @hookspec"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_guide_mentions_every_hook(name):
    assert f"`{name}" in GUIDE.read_text(), f"docs/plugin-authors.md does not cover {name}"


def test_hookspecs_match_the_contracts():
    text = CONTRACTS.read_text()
    listed = set(re.findall(r"^\s+(vmcore_\w+)\(", text, re.MULTILINE))
    assert listed == set(SPECS)
    for name, fn in SPECS.items():
        params = re.search(rf"^\s+{name}\(([^)]*)\)", text, re.MULTILINE).group(1)
        names = [p.split(":")[0].strip() for p in params.split(",") if p.strip()]
        assert names == list(inspect.signature(fn).parameters), name
