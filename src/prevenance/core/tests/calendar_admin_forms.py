"""The business calendar's admin change form as the page sends it, for the tests that save it
(holidays, opening periods, audit rows, the cases app's recalculation prompt)."""

from django.test import Client


def page_form(calendar, *, holidays=(), deleted=(), changed=None, periods=(), deleted_periods=(), changed_periods=None,
              **fields) -> dict:
    """Every period and holiday as they are, with:
    - holidays: `changed` ({holiday name: {field: value}}) and `deleted` (names) applied,
      `holidays` ((date, name), ...) added;
    - periods: `changed_periods` ({(weekday, "HH:MM" start): {field: value}}) and
      `deleted_periods` ((weekday, "HH:MM" start), ...) applied, `periods` ((weekday, start, end), ...) added;
    - `fields`: the calendar's own (name, time_zone)."""
    data = {"name": calendar.name, "time_zone": calendar.time_zone, **fields}
    existing_periods = list(calendar.periods.order_by("pk"))
    data |= {"periods-TOTAL_FORMS": str(len(existing_periods) + len(periods)),
             "periods-INITIAL_FORMS": str(len(existing_periods))}
    for n, period in enumerate(existing_periods):
        key = (period.weekday, f"{period.start_time:%H:%M}")
        values = {"weekday": str(period.weekday), "start_time": key[1], "end_time": f"{period.end_time:%H:%M}",
                  **(changed_periods or {}).get(key, {})}
        data |= {f"periods-{n}-id": str(period.pk), f"periods-{n}-calendar": str(calendar.pk)}
        data |= {f"periods-{n}-{field}": value for field, value in values.items()}
        if key in deleted_periods:
            data[f"periods-{n}-DELETE"] = "on"
    for n, (weekday, start, end) in enumerate(periods, start=len(existing_periods)):
        data |= {f"periods-{n}-calendar": str(calendar.pk), f"periods-{n}-weekday": str(weekday),
                 f"periods-{n}-start_time": start, f"periods-{n}-end_time": end}
    existing = list(calendar.holidays.order_by("-date"))
    data |= {"holidays-TOTAL_FORMS": str(len(existing) + len(holidays)), "holidays-INITIAL_FORMS": str(len(existing))}
    for n, holiday in enumerate(existing):
        values = {"date": holiday.date.isoformat(), "name": holiday.name, **(changed or {}).get(holiday.name, {})}
        data |= {f"holidays-{n}-id": str(holiday.pk), f"holidays-{n}-calendar": str(calendar.pk),
                 f"holidays-{n}-date": values["date"], f"holidays-{n}-name": values["name"]}
        if holiday.name in deleted:
            data[f"holidays-{n}-DELETE"] = "on"
    for n, (date, name) in enumerate(holidays, start=len(existing)):
        data |= {f"holidays-{n}-calendar": str(calendar.pk), f"holidays-{n}-date": date, f"holidays-{n}-name": name}
    return data


def new_calendar_form(**fields) -> dict:
    """The add form, without periods or holidays unless `fields` brings their rows."""
    return {"name": "Office", "time_zone": "Europe/Paris", "periods-TOTAL_FORMS": "0", "periods-INITIAL_FORMS": "0",
            "holidays-TOTAL_FORMS": "0", "holidays-INITIAL_FORMS": "0", **fields}


def staff_client(supervisor):
    """A test client logged in as the supervisor, who keeps the teams' opening hours and holidays
    (core/roles.py), made staff as assign_role makes them; pages in English."""
    supervisor.is_staff = True
    supervisor.save(update_fields=["is_staff"])
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(supervisor)
    return client
