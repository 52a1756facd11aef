"""Content-addressed image store: pull from registries, import archives, unpack layers."""
