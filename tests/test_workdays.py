from datetime import UTC, date, datetime

from triage.service.workdays import add_working_days, is_workday


def test_holidays_and_make_up_days_2026():
    assert not is_workday(date(2026, 10, 1))  # National Day
    assert is_workday(date(2026, 10, 10))  # Saturday made a working day
    assert not is_workday(date(2026, 11, 28))  # ordinary Saturday


def test_due_date_skips_the_national_day_week():
    sent = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    due = add_working_days(sent, 3)
    assert due.date() == date(2026, 10, 10)
    assert (due.hour, due.minute) == (23, 59)


def test_due_date_over_a_weekend():
    sent = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # a Friday
    assert add_working_days(sent, 1).date() == date(2026, 11, 30)
    assert add_working_days(sent, 10).date() == date(2026, 12, 11)


def test_local_date_decides_the_start_day():
    late_utc = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)  # Sunday in UTC, Monday 01:00 locally
    assert add_working_days(late_utc, 1).date() == date(2026, 12, 1)


def test_years_without_a_calendar_fall_back_to_weekdays():
    sent = datetime(2031, 1, 3, 8, 0, tzinfo=UTC)  # a Friday
    assert add_working_days(sent, 1).date() == date(2031, 1, 6)
