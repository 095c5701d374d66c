"""The Celery app and the one beat schedule.

Every scheduled entry is a sweep over the database: a message lost in Redis is
re-created by the next sweep, so the broker never holds the only copy of any work.
"""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("kundpuls")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def connections_tidy(task, **kwargs) -> None:
    """Around each task, as around each web request: drop a database connection that
    is broken, older than CONN_MAX_AGE or left outside autocommit, and keep the rest
    (CELERY_DB_REUSE_MAX stops Celery closing every one). Not for eager tasks: they run
    inside the caller's transaction."""
    if task.request.is_eager:
        return
    from django.db import close_old_connections

    close_old_connections()


# Read from the environment, not settings: the schedule is built before Django is set up.
SWEEP_SECONDS = float(os.environ.get("SURVEY_SWEEP_SECONDS", "30"))
CLICKS_SWEEP_SECONDS = float(os.environ.get("CLICKS_SWEEP_SECONDS", "5"))

app.conf.beat_schedule = {
    # Send every survey email whose send_after has passed; rescue stuck sends.
    "invitations-sweep": {
        "task": "surveys.tasks.invitations_sweep",
        "schedule": SWEEP_SECONDS,
    },
    # Process answers whose follow-up flagging or metric refresh has not run yet
    # (the broker was down, or a worker died mid-task).
    "responses-sweep": {
        "task": "surveys.tasks.responses_sweep",
        "schedule": SWEEP_SECONDS,
    },
    # Judge the survey emails' link fetches (person or mail scanner) stored since the
    # last run: the funnel's clicks and the answers a scanner's fetches hold.
    "clicks-sweep": {
        "task": "surveys.tasks.clicks_sweep",
        "schedule": CLICKS_SWEEP_SECONDS,
    },
    # Email the owners of new follow-up cases whose email has not gone out yet.
    "followups-notify-sweep": {
        "task": "followups.tasks.followups_notify_sweep",
        "schedule": SWEEP_SECONDS,
    },
    # Ingest helpdesk webhook deliveries whose queued task never ran (broker down), and
    # send outbound webhooks and helpdesk write-backs due a (re)try: their backoff
    # lives in next_attempt_at.
    "integrations-sweep": {
        "task": "integrations.tasks.integrations_sweep",
        "schedule": SWEEP_SECONDS,
    },
    # Send the one reminder of survey emails unanswered for SurveyPolicy.reminder_days.
    "reminders-sweep": {
        "task": "surveys.tasks.reminders_sweep",
        "schedule": 900.0,
    },
    # Expire invitations nobody answered within the answer window.
    "invitations-expire": {
        "task": "surveys.tasks.invitations_expire",
        "schedule": 3600.0,
    },
    # Escalate follow-up cases past their due time to the team lead (once each), and
    # send each owner the daily digest of open cases (once a day, from
    # FOLLOWUP_DIGEST_HOUR local time, default 07:00).
    "followups-sweep": {
        "task": "followups.tasks.followups_sweep",
        "schedule": 300.0,
    },
    # Ask "Did we sort it out?" of customers whose case was resolved in the last day
    # and whose send was lost or failed (each case is claimed, so it goes once).
    "recovery-sweep": {
        "task": "followups.tasks.recovery_sweep",
        "schedule": SWEEP_SECONDS,
    },
    # Remove what the retention policy keeps no longer (privacy.retention), nightly at
    # 03:15 UTC, after the rebuild: it removes nothing the reports count.
    "privacy-retention": {
        "task": "privacy.tasks.retention_nightly",
        "schedule": crontab(hour=3, minute=15),
    },
    # Email each subscribed lead or admin the report of their last whole day, week or
    # month, once (metrics.digest): a sweep, so a lost message is sent by the next one.
    "digests-sweep": {
        "task": "metrics.tasks.digests_sweep",
        "schedule": SWEEP_SECONDS,
    },
    # Rebuild every metric rollup from the raw rows, nightly at 02:30 UTC.
    "rollups-rebuild": {
        "task": "metrics.tasks.rollups_rebuild",
        "schedule": crontab(hour=2, minute=30),
    },
}
