"""An example vmcore plugin: a memory-mapped counter device and a ``vmctl counter`` command."""

__version__ = "1.2.3"
