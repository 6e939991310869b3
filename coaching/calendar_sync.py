"""Push booking changes to the coach's Google Calendar. (Filled in by the Google work.)"""


def schedule_calendar_sync(*, booking, change):
    return None
