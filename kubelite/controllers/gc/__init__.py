"""The garbage collector: deletes objects whose owners are gone, and carries out
foreground and orphan deletion of owners (ownerReferences, as upstream)."""
