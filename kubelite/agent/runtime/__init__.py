"""Container runtime of the node agent: a CRI-like interface and its OCI (runc) implementation."""
