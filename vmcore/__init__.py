"""vmcore: a plugin-based, modular machine emulator framework.

This module is the public API plugins import. Anything not exported here is private.
"""

from __future__ import annotations

import pluggy

from vmcore.components import Component, ConfigError
from vmcore.cpu import Cpu
from vmcore.decode import Decoder, DecodeTableError, Encoding, check_overlaps, parse_table
from vmcore.engines.base import Engine, TranslationCache
from vmcore.ir import (
    Access,
    Block,
    Builder,
    FPFlag,
    GuestTrap,
    Helper,
    IRError,
    RoundingMode,
    Value,
    mask,
    to_signed,
)
from vmcore.isa import Isa, LinuxAbi, Reg, RegisterFile
from vmcore.machine import Machine, StopReason
from vmcore.memory import MMIO, RAM, ROM, Bus, BusError
from vmcore.mmu import FlatMmu, Mmu

__version__ = "0.1.0"

#: decorator for hook implementations in plugins: ``@vmcore.hookimpl``
hookimpl = pluggy.HookimplMarker("vmcore")

__all__ = [
    "MMIO",
    "RAM",
    "ROM",
    "Access",
    "Block",
    "Builder",
    "Bus",
    "BusError",
    "Component",
    "ConfigError",
    "Cpu",
    "DecodeTableError",
    "Decoder",
    "Encoding",
    "Engine",
    "FPFlag",
    "FlatMmu",
    "GuestTrap",
    "Helper",
    "IRError",
    "Isa",
    "LinuxAbi",
    "Machine",
    "Mmu",
    "Reg",
    "RegisterFile",
    "RoundingMode",
    "StopReason",
    "TranslationCache",
    "Value",
    "__version__",
    "check_overlaps",
    "hookimpl",
    "mask",
    "parse_table",
    "to_signed",
]
