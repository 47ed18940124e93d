"""Component descriptors: what a registration hook returns for each ISA, engine, MMU, device
and board.

A descriptor names its factory as a ``"package.module:attr"`` string so that listing
components (``vmctl plugins``, ``--help``, error messages) imports nothing heavy: an engine
that pulls in LLVM is only imported when a machine actually uses it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import attrs

#: every component kind, in the order ``vmctl plugins`` shows them
KINDS: tuple[str, ...] = ("isa", "engine", "mmu", "device", "board")


class ConfigError(Exception):
    """A bad machine description or command line: vmctl prints the message and exits 2.

    The message is one line that names the bad field and, where there is a choice, lists
    the valid ones.
    """


class ComponentLoadError(ConfigError):
    """A component's factory could not be imported (a broken or half-installed plugin)."""


def _check_kind(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if value not in KINDS:
        raise ValueError(f"component kind must be one of {', '.join(KINDS)}, not {value!r}")


def _check_factory(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if isinstance(value, str):
        module, sep, attr = value.partition(":")
        if not sep or not module or not attr:
            raise ValueError(f"factory must be 'package.module:attr', not {value!r}")
    elif not callable(value):
        raise TypeError(f"factory must be a 'module:attr' string or a callable, not {value!r}")


@attrs.define(frozen=True)
class Component:
    """One named, constructible piece of a machine.

    Factories by kind (see docs/contracts.md): ``isa() -> Isa``, ``engine(machine) -> Engine``,
    ``mmu(cpu) -> Mmu``, ``device(machine, name, options) -> device``,
    ``board(machine, config) -> board``.
    """

    #: "isa" | "engine" | "mmu" | "device" | "board"
    kind: str = attrs.field(validator=_check_kind)
    #: the name users type (``--engine interp``); unique per kind across all plugins
    name: str
    #: ``"package.module:attr"`` (imported lazily on first use) or the callable itself
    factory: str | Callable[..., Any] = attrs.field(validator=_check_factory)
    #: one line for ``vmctl plugins`` and error messages
    help: str = ""
    #: attrs class of options (device/board/engine); None when there are none
    options: type | None = None
    #: ISAs this component works with; empty means any
    isas: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    #: distribution that provides it, filled in by the plugin manager
    distribution: str = ""

    def load(self) -> Callable[..., Any]:
        """The factory itself, importing its module if it was given as a string.

        Raises :class:`ComponentLoadError` naming the component, its distribution and the
        import error, so a broken plugin is reported as such and not as a traceback.
        """
        if not isinstance(self.factory, str):
            return self.factory
        module_name, _, attr_path = self.factory.partition(":")
        where = f"{self.kind} {self.name!r}" + (
            f" (from {self.distribution})" if self.distribution else ""
        )
        try:
            obj: Any = importlib.import_module(module_name)
        except Exception as exc:
            raise ComponentLoadError(
                f"cannot load {where}: importing {module_name} failed: {type(exc).__name__}: {exc}"
            ) from exc
        try:
            for part in attr_path.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            raise ComponentLoadError(
                f"cannot load {where}: {module_name} has no attribute {attr_path!r}"
            ) from None
        return obj

    def supports(self, isa: str) -> bool:
        """True if this component works with the ISA named ``isa``."""
        return not self.isas or isa in self.isas

    def make_options(self, values: dict[str, Any] | None = None) -> Any:
        """An instance of :attr:`options` from ``values`` (strings from a command line are
        converted by the attrs class's converters); None when there is no options class.

        Unknown keys raise :class:`ConfigError` listing the valid ones.
        """
        values = dict(values or {})
        if self.options is None:
            if values:
                raise ConfigError(
                    f"{self.kind} {self.name!r} takes no options (got {_keys(values)})"
                )
            return None
        fields = {f.name: f for f in attrs.fields(self.options) if f.init}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ConfigError(
                f"{self.kind} {self.name!r} has no option {', '.join(map(repr, unknown))}; "
                f"valid options: {', '.join(fields) or '(none)'}"
            )
        try:
            return self.options(**values)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{self.kind} {self.name!r} options: {exc}") from None


def _keys(values: dict[str, Any]) -> str:
    return ", ".join(sorted(values))
