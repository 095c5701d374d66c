"""What the health page remembers: when each process last showed it was alive."""

from django.db import models
from django.utils import timezone


class Heartbeat(models.Model):
    """The last time a process did its work: "beat" (it queued a sweep), "worker" (it
    finished a task). Written by operations/receivers.py from Celery's signals."""

    name = models.CharField(max_length=20, unique=True)
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"
