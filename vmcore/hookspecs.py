"""Every hook a vmcore plugin can implement: this file is the plugin author's manual.

A plugin is a module listed under the ``vmcore`` entry-point group of its distribution::

    [project.entry-points.vmcore]
    my-plugin = "vmcore_my_plugin.plugin"

and that module defines functions named like the hooks below, decorated with
``@vmcore.hookimpl``. A plugin implements only the hooks it needs, and may accept fewer
arguments than a spec lists (pluggy passes only the ones asked for). The kernel's own
built-ins (``vmcore.builtins``) are registered through these very hooks.

Registration hooks return lists of :class:`vmcore.components.Component`; the registry merges
the lists of every plugin and rejects two components of one kind with the same name.
Machine hooks are called on every plugin (none of them stops the others).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from vmcore.components import Component
    from vmcore.machine import Machine

hookspec = pluggy.HookspecMarker("vmcore")


# -- Registering components ----------------------------------------------------------------


@hookspec
def vmcore_register_isas() -> list[Component]:
    """Register guest instruction sets.

    Called once per process, when the registry is first built (``vmctl`` start-up,
    :func:`vmcore.plugins.get_registry`).

    :return: a list of ``Component(kind="isa", ...)``; each factory is called with no
        arguments and returns a :class:`vmcore.Isa`.
    :firstresult: no, the lists of every plugin are concatenated.
    """


@hookspec
def vmcore_register_engines() -> list[Component]:
    """Register execution engines (IR block -> something runnable).

    Called once per process, when the registry is first built.

    :return: a list of ``Component(kind="engine", ...)``; each factory is called as
        ``factory(machine)`` and returns a :class:`vmcore.Engine`.
    :firstresult: no, the lists of every plugin are concatenated.
    """


@hookspec
def vmcore_register_mmus() -> list[Component]:
    """Register MMU strategies (virtual -> physical translation).

    Called once per process, when the registry is first built. Set ``isas`` on the
    component to the ISAs whose page tables it walks; the registry refuses other pairings.

    :return: a list of ``Component(kind="mmu", ...)``; each factory is called as
        ``factory(cpu)`` once per hart and returns a :class:`vmcore.Mmu`.
    :firstresult: no, the lists of every plugin are concatenated.
    """


@hookspec
def vmcore_register_devices() -> list[Component]:
    """Register device models (MMIO registers, IRQ lines, timers).

    Called once per process, when the registry is first built. ``options`` is an attrs
    class whose fields users set with ``--device KIND,key=value`` or a ``[[devices]]``
    table in the machine TOML.

    :return: a list of ``Component(kind="device", ...)``; each factory is called as
        ``factory(machine, name, options)`` and returns the device, which maps itself on
        ``machine.bus`` and is registered with ``machine.add_device``.
    :firstresult: no, the lists of every plugin are concatenated.
    """


@hookspec
def vmcore_register_boards() -> list[Component]:
    """Register boards (memory map, default devices, boot protocol).

    Called once per process, when the registry is first built.

    :return: a list of ``Component(kind="board", ...)``; each factory is called as
        ``factory(machine, config)`` with the :class:`vmcore.config.MachineConfig`, maps
        RAM/ROM/devices, loads ``config.kernel``/``bios``/``initrd`` and returns an object
        with a ``reset_pc`` attribute.
    :firstresult: no, the lists of every plugin are concatenated.
    """


# -- Extending the command line ------------------------------------------------------------


@hookspec
def vmcore_add_commands(cli: click.Group) -> None:
    """Add subcommands to ``vmctl``.

    :param cli: the ``vmctl`` click group; call ``cli.command()`` / ``cli.add_command()``.

    Called once, when ``vmctl`` starts, before the command line is parsed. Keep the hook
    cheap: import heavy modules inside the command, not at module level.

    :return: nothing.
    :firstresult: no, every plugin is called.
    """


# -- Machine life cycle ---------------------------------------------------------------------


@hookspec
def vmcore_machine_assembled(machine: Machine) -> None:
    """React to a newly built machine (attach tracers, debuggers, extra devices).

    :param machine: the machine, with board and devices in place, not yet reset.

    Called once by :func:`vmcore.build.build_machine`, after the board and device
    factories and before ``machine.reset()``.

    :return: nothing.
    :firstresult: no, every plugin is called.
    """


@hookspec
def vmcore_machine_before_run(machine: Machine) -> None:
    """Last chance before guest code runs.

    :param machine: the machine about to run.

    Called at the start of every :meth:`vmcore.Machine.run` (so again after each stop and
    resume), before the first instruction of that run.

    :return: nothing.
    :firstresult: no, every plugin is called.
    """


@hookspec
def vmcore_machine_after_stop(machine: Machine, reason: str) -> None:
    """Observe a machine that stopped running (statistics, final reports).

    :param machine: the machine that stopped; ``machine.exit_code`` is set after a halt.
    :param reason: a :class:`vmcore.StopReason` value: "halt", "limit", "stop" or "idle"
        (None if the run ended with a host exception).

    Called at the end of every :meth:`vmcore.Machine.run`, also when it ends with an
    exception. This is the place for final output: ``vmctl run`` ends its process right
    after the guest exits (stdio flushed, no interpreter teardown), so ``atexit``
    handlers and finalizers do not run there.

    :return: nothing.
    :firstresult: no, every plugin is called.
    """
