"""Hook implementations only: what this distribution adds to vmcore.

The device module is named by a string, so ``vmctl plugins`` lists the device without
importing it; the command imports it only when it runs.
"""

from __future__ import annotations

import click

from vmcore import Component, hookimpl


@hookimpl
def vmcore_register_devices() -> list[Component]:
    from vmcore_example_counter.device import CounterOptions

    return [
        Component(
            kind="device",
            name="counter",
            factory="vmcore_example_counter.device:create",
            help="example MMIO counter (value, ticket, step registers)",
            options=CounterOptions,
        )
    ]


@hookimpl
def vmcore_add_commands(cli: click.Group) -> None:
    @cli.command()
    @click.option("--base", default="0x10002000", show_default=True, help="MMIO base.")
    @click.option("--add", "adds", type=int, multiple=True, help="Value to add (repeatable).")
    def counter(base: str, adds: tuple[int, ...]) -> int:
        """Exercise the example counter on a bare bus and print its value."""
        import vmcore
        from vmcore_example_counter.device import TICKET, VALUE, Counter, CounterOptions

        options = CounterOptions(base=base)
        bus = vmcore.Bus()
        bus.add_mmio(options.base, 0x10, Counter(options), "counter")
        for n in adds:
            bus.write(options.base + TICKET, 4, n)
        click.echo(f"counter at {options.base:#x}: {bus.read(options.base + VALUE, 4)}")
        return 0
