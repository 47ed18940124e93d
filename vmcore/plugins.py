"""The plugin manager and the component registry.

Plugins are modules named by entry points in the group ``vmcore``; the kernel's built-ins
(:mod:`vmcore.builtins`) are registered first through the very same hooks. A plugin that
fails to import, or whose registration hook fails, is recorded in
:attr:`Registry.failures` and the others still load: one broken plugin must not take
``vmctl`` down with it.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Iterable
from types import ModuleType
from typing import Any

import attrs
import pluggy

from vmcore import __version__, builtins, hookspecs
from vmcore.components import KINDS, Component, ConfigError

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "PluginManager",
    "Registry",
    "get_plugin_manager",
    "get_registry",
    "make_plugin_manager",
]

ENTRY_POINT_GROUP = "vmcore"
KERNEL_DISTRIBUTION = "vmcore"

#: registration hook of each component kind
REGISTER_HOOKS: dict[str, str] = {
    "isa": "vmcore_register_isas",
    "engine": "vmcore_register_engines",
    "mmu": "vmcore_register_mmus",
    "device": "vmcore_register_devices",
    "board": "vmcore_register_boards",
}


@attrs.define(frozen=True)
class PluginInfo:
    """One registered plugin module and the distribution it came from."""

    name: str  #: plugin name in the plugin manager (the entry point's name)
    distribution: str
    version: str
    module: str


class PluginManager(pluggy.PluginManager):
    """pluggy's manager for project "vmcore", remembering where each plugin came from."""

    def __init__(self) -> None:
        super().__init__("vmcore")
        self.add_hookspecs(hookspecs)
        self.infos: list[PluginInfo] = []
        #: ``(distribution, error text)`` of plugins that failed to import or register
        self.failures: list[tuple[str, str]] = []


def make_plugin_manager(
    entry_points: bool = True, extra: Iterable[tuple[str, ModuleType | object]] = ()
) -> PluginManager:
    """A fresh plugin manager: built-ins, then (if ``entry_points``) every installed plugin,
    then ``extra`` ``(name, plugin)`` pairs (tests register in-process plugins this way)."""
    pm = PluginManager()

    def register(name: str, plugin: Any, dist: str, version: str) -> None:
        pm.register(plugin, name=name)
        module = getattr(plugin, "__name__", type(plugin).__name__)
        pm.infos.append(PluginInfo(name, dist, version, module))

    register("vmcore.builtins", builtins, KERNEL_DISTRIBUTION, __version__)
    if entry_points:
        seen: set[tuple[str, str]] = set()
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else ep.value
            version = ep.dist.version if ep.dist is not None else ""
            if (ep.name, ep.value) in seen:
                continue  # one distribution seen twice on sys.path
            seen.add((ep.name, ep.value))
            try:
                plugin = ep.load()
            except Exception as exc:
                pm.failures.append((dist, f"importing {ep.value} failed: {_one_line(exc)}"))
                continue
            try:
                register(ep.name, plugin, dist, version)
            except Exception as exc:  # pluggy validation: a hook with arguments it lacks
                pm.failures.append((dist, f"registering {ep.value} failed: {_one_line(exc)}"))
    for name, plugin in extra:
        register(name, plugin, name, "")
    _report_unknown_hooks(pm)
    return pm


def _report_unknown_hooks(pm: PluginManager) -> None:
    """A ``vmcore_*`` implementation that matches no spec is a typo that would otherwise
    be ignored in silence (``vmcore_register_device`` for ``..._devices``)."""
    dist_of = {p.name: p.distribution for p in pm.infos}
    known = ", ".join(sorted(n for n in dir(hookspecs) if n.startswith("vmcore_")))
    for name, caller in sorted(vars(pm.hook).items()):
        if not name.startswith("vmcore_") or caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            if not impl.opts.get("optionalhook"):
                dist = dist_of.get(impl.plugin_name, impl.plugin_name)
                pm.failures.append((dist, f"{name} is not a vmcore hook; hooks: {known}"))


@functools.cache
def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager (built-ins + entry points), created on first use."""
    return make_plugin_manager()


@functools.cache
def get_registry() -> Registry:
    """The process-wide registry of every component of every installed plugin."""
    return Registry.from_plugin_manager(get_plugin_manager())


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return " ".join(text.split())


class Registry:
    """Components by kind and name, with the plugins that provide them.

    ``hook`` is the plugin manager's hook relay (None for a registry filled by hand); the
    machine builder hands it to the machine so that life-cycle hooks reach every plugin.
    """

    def __init__(self, hook: Any = None) -> None:
        self.hook = hook
        self.plugins: list[PluginInfo] = []
        #: ``(distribution, error text)`` of every plugin that failed to load or register
        self.failures: list[tuple[str, str]] = []
        self._components: dict[str, dict[str, Component]] = {k: {} for k in KINDS}
        #: (kind, name) -> distributions that all claim it; such a name cannot be used
        self._conflicts: dict[tuple[str, str], list[str]] = {}

    @classmethod
    def from_plugin_manager(cls, pm: PluginManager) -> Registry:
        """Collect every plugin's components; a hook that raises or returns something
        other than components is recorded as a failure of its distribution."""
        reg = cls(pm.hook)
        reg.plugins = list(pm.infos)
        reg.failures = list(pm.failures)
        dist_of = {p.name: p for p in reg.plugins}
        for kind, hook_name in REGISTER_HOOKS.items():
            # in registration order: built-ins first, then plugins
            for impl in getattr(pm.hook, hook_name).get_hookimpls():
                info = dist_of.get(impl.plugin_name)
                dist = info.distribution if info else impl.plugin_name
                try:
                    components = list(impl.function() or ())
                except Exception as exc:
                    reg.failures.append((dist, f"{hook_name} failed: {_one_line(exc)}"))
                    continue
                for comp in components:
                    if not isinstance(comp, Component) or comp.kind != kind:
                        reg.failures.append(
                            (dist, f"{hook_name} returned {comp!r}; expected {kind} Components")
                        )
                        continue
                    try:
                        reg.add(attrs.evolve(comp, distribution=dist))
                    except ConfigError as exc:
                        reg.failures.append((dist, str(exc)))
        return reg

    # -- filling -----------------------------------------------------------------------------

    def add(self, component: Component) -> None:
        """Add one component; a second component of the same kind and name is rejected
        (:class:`ConfigError` naming both distributions) and the name becomes unusable
        until one of them is uninstalled."""
        table = self._components[component.kind]
        key = (component.kind, component.name)
        old = table.get(component.name)
        if old is not None or key in self._conflicts:
            dists = self._conflicts.setdefault(key, [old.distribution] if old else [])
            dists.append(component.distribution)
            table.pop(component.name, None)
            raise ConfigError(
                f"{component.kind} {component.name!r} is provided by more than one plugin "
                f"({', '.join(d or '?' for d in dists)}); uninstall all but one"
            )
        table[component.name] = component

    # -- queries -----------------------------------------------------------------------------

    def all(self, kind: str) -> list[Component]:
        """Every component of ``kind``, sorted by name."""
        return sorted(self._table(kind).values(), key=lambda c: c.name)

    def names(self, kind: str, isa: str | None = None) -> list[str]:
        """Sorted names of ``kind`` (only those that work with ``isa`` if given)."""
        return [c.name for c in self.all(kind) if isa is None or c.supports(isa)]

    def get(self, kind: str, name: str | None) -> Component:
        """The component ``name`` of ``kind``; :class:`ConfigError` listing the valid
        names if there is none (or if two plugins claim it)."""
        table = self._table(kind)
        if name in table:
            return table[name]
        conflict = self._conflicts.get((kind, name or ""))
        if conflict:
            raise ConfigError(
                f"{kind} {name!r} is provided by more than one plugin ({', '.join(conflict)}); "
                "uninstall all but one"
            )
        what = f"no {kind} given" if not name else f"unknown {kind} {name!r}"
        raise ConfigError(f"{kind}: {what}; available: {self._listing(kind)}")

    def check_compatible(self, component: Component, isa: str) -> None:
        """Raise :class:`ConfigError` if ``component`` does not work with ``isa``, listing
        the components of its kind that do."""
        if component.supports(isa):
            return
        raise ConfigError(
            f"{component.kind}: {component.name!r} supports {', '.join(component.isas)}, "
            f"not {isa}; available for {isa}: {self._listing(component.kind, isa)}"
        )

    def _listing(self, kind: str, isa: str | None = None) -> str:
        return ", ".join(self.names(kind, isa)) or "(none installed)"

    def _table(self, kind: str) -> dict[str, Component]:
        try:
            return self._components[kind]
        except KeyError:
            raise ValueError(f"component kind must be one of {', '.join(KINDS)}") from None

    def version_of(self, distribution: str) -> str:
        """Installed version of a plugin distribution ("" if unknown)."""
        for p in self.plugins:
            if p.distribution == distribution:
                return p.version
        return ""

    def describe(self) -> dict[str, Any]:
        """Everything ``vmctl plugins --json`` prints: plugins, components by kind, failures."""
        return {
            "plugins": [attrs.asdict(p) for p in self.plugins],
            "components": {
                kind: [
                    {
                        "name": c.name,
                        "help": c.help,
                        "distribution": c.distribution,
                        "version": self.version_of(c.distribution),
                        "isas": list(c.isas),
                        "factory": c.factory if isinstance(c.factory, str) else repr(c.factory),
                        "options": _option_names(c.options),
                    }
                    for c in self.all(kind)
                ]
                for kind in KINDS
            },
            "failures": [{"distribution": d, "error": e} for d, e in self.failures],
        }


def _option_names(options: type | None) -> list[str]:
    if options is None:
        return []
    return [f.name for f in attrs.fields(options) if f.init]
