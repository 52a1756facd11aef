"""The StatefulSet controller: pods with stable names, hostnames and storage, run in order."""

from kubelite.controllers.statefulset.controller import StatefulSetController

__all__ = ["StatefulSetController"]
