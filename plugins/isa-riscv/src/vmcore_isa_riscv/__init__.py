"""RISC-V for vmcore: RV64GC harts, the privileged architecture, the spike board."""

__version__ = "0.1.0"
