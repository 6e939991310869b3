"""Outbox of owed emails. (Filled in by the notifications work; a no-op until then.)"""


def record_notifications(*, booking, change, **extra):
    return []
