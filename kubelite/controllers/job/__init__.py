"""The Job controller (batch/v1): see controller.py."""

from kubelite.controllers.job.controller import JobController

__all__ = ["JobController"]
