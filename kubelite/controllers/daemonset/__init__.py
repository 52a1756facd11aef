"""The DaemonSet controller (apps/v1): one daemon pod per eligible node."""

from kubelite.controllers.daemonset.controller import DaemonSetController

__all__ = ["DaemonSetController"]
