"""Hook implementations: what this distribution adds to vmcore."""

from vmcore import hookimpl
from vmcore.components import Component


@hookimpl
def vmcore_register_isas():
    return [
        Component(
            kind="isa",
            name="riscv64",
            factory="vmcore_isa_riscv.isa:RiscV64",
            help="RV64GC (IMAFDC, Zicsr, Zifencei, Zba, Zbb, Zbs) with M, S and U modes",
        )
    ]


@hookimpl
def vmcore_register_mmus():
    return [
        Component(
            kind="mmu",
            name=name,
            factory=f"vmcore_isa_riscv.mmu:{cls}",
            help=text,
            isas=("riscv64",),
        )
        for name, cls, text in (
            ("riscv", "RiscvMmu", "RISC-V paging as satp selects: Bare, Sv39, Sv48 (default)"),
            ("sv39", "Sv39Mmu", "RISC-V paging limited to Bare and Sv39 (satp WARL)"),
            ("sv48", "Sv48Mmu", "RISC-V paging: Bare, Sv39 and Sv48"),
        )
    ]


@hookimpl
def vmcore_register_boards():
    return [
        Component(
            kind="board",
            name="spike",
            factory="vmcore_isa_riscv.boards.spike:SpikeBoard",
            help="Spike-compatible bare metal: RAM at 0x80000000, CLINT, HTIF tohost/fromhost",
            isas=("riscv64",),
        )
    ]


@hookimpl
def vmcore_register_devices():
    from vmcore_isa_riscv.devices.clint import ClintOptions

    return [
        Component(
            kind="device",
            name="clint",
            factory="vmcore_isa_riscv.devices.clint:create",
            help="RISC-V CLINT: msip, mtimecmp and mtime (10 MHz) per hart",
            options=ClintOptions,
            isas=("riscv64",),
        )
    ]
