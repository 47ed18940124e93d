"""Device models that ship with the kernel (registered by :mod:`vmcore.builtins`)."""
