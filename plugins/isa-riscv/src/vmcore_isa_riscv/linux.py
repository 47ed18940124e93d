"""How Linux user mode sees a riscv64 hart (the psABI's syscall convention)."""

from vmcore import LinuxAbi
from vmcore_isa_riscv import registers as R
from vmcore_isa_riscv.traps import Cause

#: user mode with the FPU on (Initial), XLEN 64 in every mode
_USER_MSTATUS = (1 << 13) | (2 << 32) | (2 << 34)

EM_RISCV = 243

#: HWCAP bits are the letters of the base ISA: bit (letter - 'a')
HWCAP = sum(1 << (ord(ch) - ord("a")) for ch in "imafdc")

LINUX_ABI = LinuxAbi(
    elf_machine=EM_RISCV,
    syscall_nr=17,
    args=(10, 11, 12, 13, 14, 15),
    result=10,
    sp=2,
    ecall_cause=Cause.ECALL_U,
    syscall_insn_len=4,
    hwcap=HWCAP,
    platform="riscv64",
    signals={
        Cause.INSN_MISALIGNED: 7,
        Cause.INSN_ACCESS: 11,
        Cause.ILLEGAL_INSN: 4,
        Cause.BREAKPOINT: 5,
        Cause.LOAD_MISALIGNED: 7,
        Cause.LOAD_ACCESS: 11,
        Cause.STORE_MISALIGNED: 7,
        Cause.STORE_ACCESS: 11,
        Cause.INSN_PAGE_FAULT: 11,
        Cause.LOAD_PAGE_FAULT: 11,
        Cause.STORE_PAGE_FAULT: 11,
    },
    initial={R.PRIV: 0, R.MSTATUS: _USER_MSTATUS},
    tp=4,
    link_register=1,
)
