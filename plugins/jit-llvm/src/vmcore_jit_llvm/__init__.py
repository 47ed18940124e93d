"""vmcore-jit-llvm: the ``jit`` engine (IR -> LLVM via llvmlite -> native code).

Importing this package imports nothing heavy; :mod:`vmcore_jit_llvm.engine` pulls in llvmlite.
"""

__version__ = "0.1.0"
