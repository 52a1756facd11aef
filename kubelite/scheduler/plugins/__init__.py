"""In-tree scheduler plugins, one module each (named as upstream's plugins)."""
