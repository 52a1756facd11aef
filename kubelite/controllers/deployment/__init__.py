"""The Deployment controller (see controller.py); wire it as
`DeploymentController(client, informers)` next to the ReplicaSet controller."""

from kubelite.controllers.deployment.controller import DeploymentController

__all__ = ["DeploymentController"]
