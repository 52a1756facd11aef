"""The CronJob controller: Jobs from a template at scheduled times, and their history."""

from kubelite.controllers.cronjob.controller import CronJobController

__all__ = ["CronJobController"]
