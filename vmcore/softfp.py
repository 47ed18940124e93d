"""Placeholder: bit-exact IEEE 754 operations on raw bits (filled in by the FP work)."""
