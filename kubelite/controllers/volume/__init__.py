"""Persistent volumes: binding claims to volumes (binder) and provisioning volumes."""
