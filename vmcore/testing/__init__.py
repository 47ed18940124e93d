"""Contract suites and test helpers that plugins reuse.

* :mod:`vmcore.testing.ir_conformance` -- every IR op and the engine contract (precise
  traps, exact budgets, helpers, self-modifying code), run on any engine. An engine plugin
  subclasses :class:`~vmcore.testing.ir_conformance.IRConformance` in its tests and
  provides an ``engine_factory`` fixture.
* :mod:`vmcore.testing.guests` -- builds guest programs from ``guests/`` on demand.

Nothing here is imported by ``vmcore`` itself, so pytest and hypothesis stay test-only
dependencies.
"""

try:
    import pytest
except ImportError:  # pragma: no cover - only the suites need pytest
    pass
else:
    # plain asserts in the suites report their operands like asserts in test modules
    pytest.register_assert_rewrite("vmcore.testing.ir_conformance")
