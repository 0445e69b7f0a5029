"""APScheduler as a clock only: it ticks the outbox dispatcher and the timer sweeps."""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from bot.bootstrap import Services
from scheduler import heartbeat
from store.db import transaction
from store.retention import purge_inbound

log = logging.getLogger(__name__)


def purge(services: Services) -> tuple[int, int]:
    """Blank and drop inbound rows past their windows (store/retention.py)."""
    settings = services.settings
    with transaction(services.db) as s:
        return purge_inbound(s, now=services.clock.now(),
                             replay=timedelta(minutes=settings.inbound_replay_minutes),
                             keep=timedelta(hours=settings.inbound_keep_hours))


def start(services: Services) -> BackgroundScheduler:
    """Start the ticking jobs; stable ids, one run at a time, missed ticks coalesced."""
    sched = BackgroundScheduler(timezone=services.settings.zone)
    common = {"coalesce": True, "max_instances": 1, "replace_existing": True}
    sched.add_job(services.dispatcher.run_once, "interval", id="outbox",
                  seconds=services.settings.outbox_interval_seconds, **common)
    sched.add_job(services.sweeper.run_once, "interval", id="timers",
                  seconds=services.settings.timer_interval_seconds, **common)
    # Downloads of photos and voice notes on a thread of their own: a slow one never
    # holds up an escalation due in the same sweep.
    sched.add_job(services.sweeper.run_slow, "interval", id="downloads",
                  seconds=services.settings.timer_interval_seconds, **common)
    sched.add_job(lambda: purge(services), "interval", id="retention", minutes=10, **common)
    if services.planner is not None:
        sched.add_job(services.planner.plan, "interval", id="calendar",
                      minutes=services.settings.calendar_interval_minutes,
                      next_run_time=services.clock.now(), **common)
    name = heartbeat.process_name()
    sched.add_job(lambda: heartbeat.beat(services.db, services.clock, name), "interval",
                  id="heartbeat", seconds=services.settings.heartbeat_interval_seconds,
                  next_run_time=services.clock.now(), **common)
    sched.start()
    log.info("scheduler started: outbox every %ss, timers every %ss",
             services.settings.outbox_interval_seconds, services.settings.timer_interval_seconds)
    return sched
