"""Execution engines built into the kernel (``interp``) and the base every engine shares."""
