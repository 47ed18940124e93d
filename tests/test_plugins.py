"""The plugin manager and registry: built-ins, entry points, failures, duplicates, lookups."""

from __future__ import annotations

import importlib.metadata
import types

import attrs
import pytest

import vmcore
from vmcore import Component, hookimpl
from vmcore.components import ComponentLoadError, ConfigError
from vmcore.plugins import ENTRY_POINT_GROUP, Registry, make_plugin_manager


def registry_with(*plugins: object, entry_points: bool = False) -> Registry:
    extra = [(getattr(p, "__name__", f"plugin{i}"), p) for i, p in enumerate(plugins)]
    return Registry.from_plugin_manager(make_plugin_manager(entry_points, extra))


def plugin(name: str, **hooks) -> types.SimpleNamespace:
    """An in-process plugin object whose hooks return the given component lists."""
    ns = types.SimpleNamespace(__name__=name)
    for hook, result in hooks.items():

        def impl(result=result):
            if isinstance(result, Exception):
                raise result
            return result

        impl.__name__ = hook
        setattr(ns, hook, hookimpl(impl))
    return ns


def test_builtins_are_registered_through_the_hooks():
    reg = registry_with()
    assert reg.names("engine") == ["interp"]
    assert reg.names("mmu") == ["flat"]
    assert reg.names("device") == ["ram", "uart16550"]
    assert reg.failures == []
    interp = reg.get("engine", "interp")
    assert interp.distribution == "vmcore"
    assert interp.factory == "vmcore.engines.interp:InterpEngine"  # lazy: a string
    assert reg.version_of("vmcore") == vmcore.__version__
    assert reg.plugins[0].module == "vmcore.builtins"


def test_get_lists_valid_names():
    reg = registry_with()
    with pytest.raises(ConfigError, match=r"^engine: unknown engine 'jit'; available: interp$"):
        reg.get("engine", "jit")
    with pytest.raises(ConfigError, match=r"^isa: no isa given; available: \(none installed\)$"):
        reg.get("isa", None)
    with pytest.raises(ValueError, match="kind must be one of"):
        reg.get("gadget", "x")


def test_duplicates_across_plugins_are_rejected_with_both_distributions():
    dup = Component("engine", "interp", "somewhere:Engine", "an impostor")
    reg = registry_with(plugin("vmcore-impostor", vmcore_register_engines=[dup]))
    assert reg.failures == [
        (
            "vmcore-impostor",
            "engine 'interp' is provided by more than one plugin (vmcore, vmcore-impostor); "
            "uninstall all but one",
        )
    ]
    with pytest.raises(ConfigError, match=r"more than one plugin \(vmcore, vmcore-impostor\)"):
        reg.get("engine", "interp")
    assert "interp" not in reg.names("engine")


def test_a_failing_hook_is_recorded_and_the_rest_still_load():
    good = Component("board", "good", "x:y", isas=("toy",))
    reg = registry_with(
        plugin("broken", vmcore_register_devices=RuntimeError("boom")),
        plugin("fine", vmcore_register_boards=[good]),
    )
    assert reg.failures == [("broken", "vmcore_register_devices failed: RuntimeError: boom")]
    assert reg.get("board", "good").distribution == "fine"
    assert reg.names("device") == ["ram", "uart16550"]


def test_components_of_the_wrong_kind_are_refused():
    wrong = Component("device", "lost", "x:y")
    reg = registry_with(plugin("confused", vmcore_register_isas=[wrong, "not a component"]))
    assert [f[0] for f in reg.failures] == ["confused", "confused"]
    assert "expected isa Components" in reg.failures[0][1]
    assert reg.names("isa") == []


class FakeDist:
    def __init__(self, name: str, version: str) -> None:
        self.name, self.version = name, version


class FakeEntryPoint:
    def __init__(self, name: str, value: str, dist: FakeDist, obj: object = None) -> None:
        self.name, self.value, self.dist, self.group = name, value, dist, ENTRY_POINT_GROUP
        self._obj = obj

    def load(self) -> object:
        if self._obj is None:
            return importlib.import_module(self.value)
        return self._obj


def test_entry_points_record_distribution_and_version_and_import_failures(monkeypatch):
    extra = plugin(
        "vmcore_extra.plugin",
        vmcore_register_mmus=[Component("mmu", "sv99", "vmcore_extra.mmu:Sv99", isas=("rv",))],
    )
    eps = [
        FakeEntryPoint("extra", "vmcore_extra.plugin", FakeDist("vmcore-extra", "2.0"), extra),
        FakeEntryPoint("extra", "vmcore_extra.plugin", FakeDist("vmcore-extra", "2.0"), extra),
        FakeEntryPoint("gone", "vmcore_no_such_module_xyz", FakeDist("vmcore-gone", "0.1")),
    ]

    def entry_points(group: str):
        assert group == ENTRY_POINT_GROUP
        return eps

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    reg = Registry.from_plugin_manager(make_plugin_manager())
    sv99 = reg.get("mmu", "sv99")
    assert (sv99.distribution, reg.version_of("vmcore-extra")) == ("vmcore-extra", "2.0")
    assert [p.distribution for p in reg.plugins] == ["vmcore", "vmcore-extra"]  # deduplicated
    assert reg.failures == [
        (
            "vmcore-gone",
            "importing vmcore_no_such_module_xyz failed: "
            "ModuleNotFoundError: No module named 'vmcore_no_such_module_xyz'",
        )
    ]
    described = reg.describe()
    assert described["failures"] == [{"distribution": d, "error": e} for d, e in reg.failures]
    (mmu,) = [m for m in described["components"]["mmu"] if m["name"] == "sv99"]
    assert mmu == {
        "name": "sv99",
        "help": "",
        "distribution": "vmcore-extra",
        "version": "2.0",
        "isas": ["rv"],
        "factory": "vmcore_extra.mmu:Sv99",
        "options": [],
    }


def test_compatibility_check_lists_what_fits():
    reg = registry_with(
        plugin(
            "boards",
            vmcore_register_boards=[
                Component("board", "virt", "x:y", isas=("riscv64",)),
                Component("board", "raspi", "x:y", isas=("aarch64",)),
                Component("board", "any", "x:y"),
            ],
        )
    )
    reg.check_compatible(reg.get("board", "any"), "riscv64")
    reg.check_compatible(reg.get("board", "virt"), "riscv64")
    with pytest.raises(
        ConfigError,
        match=r"^board: 'raspi' supports aarch64, not riscv64; available for riscv64: any, virt$",
    ):
        reg.check_compatible(reg.get("board", "raspi"), "riscv64")
    assert reg.names("board", "aarch64") == ["any", "raspi"]


def test_component_load_resolves_lazily_and_reports_import_errors():
    comp = Component("mmu", "flat", "vmcore.mmu:FlatMmu")
    assert comp.load() is vmcore.FlatMmu
    assert Component("mmu", "f", vmcore.FlatMmu).load() is vmcore.FlatMmu
    dotted = Component("engine", "e", "vmcore.engines.base:Engine.flush")
    assert dotted.load() is vmcore.Engine.flush
    broken = Component("engine", "jit", "vmcore_jit_nowhere.engine:Jit", distribution="vmcore-jit")
    with pytest.raises(ComponentLoadError, match=r"^cannot load engine 'jit' \(from vmcore-jit\)"):
        broken.load()
    typo = Component("mmu", "flat", "vmcore.mmu:FlatMMU")
    with pytest.raises(ConfigError, match="vmcore.mmu has no attribute 'FlatMMU'"):
        typo.load()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"kind": "gadget", "name": "x", "factory": "a:b"}, "kind must be one of isa, engine"),
        ({"kind": "isa", "name": "x", "factory": "no_colon"}, "package.module:attr"),
        ({"kind": "isa", "name": "x", "factory": 42}, "callable"),
    ],
)
def test_component_validation(kwargs, error):
    with pytest.raises((ValueError, TypeError), match=error):
        Component(**kwargs)


def test_make_options():
    @attrs.define
    class Opts:
        base: int = attrs.field(
            default=0, converter=lambda v: int(v, 0) if isinstance(v, str) else v
        )
        mode: str = attrs.field(default="a", validator=attrs.validators.in_(["a", "b"]))

    comp = Component("device", "thing", "x:y", options=Opts)
    assert comp.make_options({"base": "0x10"}) == Opts(base=16)
    assert comp.make_options(None) == Opts()
    with pytest.raises(ConfigError, match=r"no option 'bsae'; valid options: base, mode"):
        comp.make_options({"bsae": 1})
    with pytest.raises(ConfigError, match="device 'thing' options:"):
        comp.make_options({"mode": "c"})
    bare = Component("device", "bare", "x:y")
    assert bare.make_options({}) is None
    with pytest.raises(ConfigError, match="takes no options"):
        bare.make_options({"x": 1})


def test_misspelt_hooks_are_reported():
    typo = plugin("typo", vmcore_register_device=[Component("device", "d", "x:y")])
    reg = registry_with(typo)
    ((dist, error),) = reg.failures
    assert dist == "typo"
    assert error.startswith("vmcore_register_device is not a vmcore hook; hooks: ")
    assert "vmcore_register_devices" in error
