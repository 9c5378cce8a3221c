"""Schedules -> KFP recurring runs: before/after per schedule kind, and the upload script's calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow2kfp.emit.python import dag_description
from airflow2kfp.emit.recurring import ScheduleResult, kfp_cron, recurring_json, recurring_run
from airflow2kfp.model import Duration, PythonCallable, Unresolved
from tests.helpers import dag, task

ROOT = Path(__file__).resolve().parents[2]
DS = {"ds": "[[ScheduledTime.2006-01-02]]"}


def schedule(scheduled: dict[str, str] | None = None, **settings) -> ScheduleResult:
    settings.setdefault("start_date", "2024-01-01T00:00:00")
    settings.setdefault("catchup", False)
    return recurring_run(dag("d", [task("t")], [], settings=settings), scheduled or {}, "about d")


def codes(result: ScheduleResult) -> list[tuple[str, str]]:
    return [(d.code, d.severity.value) for d in result.diagnostics]


@pytest.mark.parametrize(
    ("preset", "cron"),
    [
        ("@hourly", "0 0 * * * *"),
        ("@daily", "0 0 0 * * *"),
        ("@midnight", "0 0 0 * * *"),
        ("@weekly", "0 0 0 * * 0"),
        ("@monthly", "0 0 0 1 * *"),
        ("@quarterly", "0 0 0 1 */3 *"),
        ("@yearly", "0 0 0 1 1 *"),
        ("@annually", "0 0 0 1 1 *"),
    ],
)
def test_presets_become_six_field_crons(preset: str, cron: str) -> None:
    result = schedule(schedule=preset)
    assert result.run is not None and result.run.cron == cron and result.run.interval_second is None
    assert result.diagnostics == ()


@pytest.mark.parametrize(("preset", "cron"), [("@Daily", "0 0 0 * * *"), ("@WEEKLY", "0 0 0 * * 0")])
def test_presets_in_any_case_are_crons_as_croniter_reads_them(preset: str, cron: str) -> None:
    result = schedule(schedule_interval=preset)
    assert result.run is not None and result.run.cron == cron and result.diagnostics == ()


def test_quarterly_is_airflows_own_preset_in_its_own_spelling_only() -> None:
    assert codes(schedule(schedule="@Quarterly")) == [("A2K314", "warning")]  # croniter cannot read it


@pytest.mark.parametrize(
    ("airflow", "kfp"),
    [
        ("0 3 * * *", "0 0 3 * * *"),
        ("*/15 9-17 * * MON-FRI", "0 */15 9-17 * * MON-FRI"),
        ("0 0 * JAN,JUL 7", "0 0 0 * JAN,JUL 0"),  # croniter's Sunday 7 is robfig's 0
        ("0 0 * * 5-7", "0 0 0 * * 5-6,0"),
        ("0 12 * * * 30", "30 0 12 * * *"),  # croniter's seconds field comes last
    ],
)
def test_cron_gets_a_leading_seconds_field(airflow: str, kfp: str) -> None:
    assert kfp_cron(airflow) == (kfp, None)
    assert schedule(schedule_interval=airflow).run.cron == kfp


@pytest.mark.parametrize("expression", ["0 0 L * *", "0 0 * * 1#2", "0 0 15W * *", "H 0 * * *", "0 0 * *"])
def test_cron_robfig_cannot_parse_gets_no_run(expression: str) -> None:
    result = schedule(schedule=expression)
    assert result.run is None and codes(result) == [("A2K314", "warning")]


def test_timedelta_becomes_a_periodic_schedule() -> None:
    run = schedule(schedule=Duration(21600), max_active_runs=3, end_date="2025-06-30").run
    assert (run.cron, run.interval_second, run.max_concurrency) == (None, 21600, 3)
    assert (run.start_time, run.end_time) == ("2024-01-01T00:00:00Z", "2025-06-30T00:00:00Z")
    text = json.loads(recurring_json(run, "d.yaml"))
    assert text["trigger"] == {
        "periodic_schedule": {
            "interval_second": 21600,
            "start_time": "2024-01-01T00:00:00Z",
            "end_time": "2025-06-30T00:00:00Z",
        }
    }
    assert text["pipeline"] == "d.yaml" and text["enabled"] is True and text["no_catchup"] is True


def test_no_schedule_is_left_alone() -> None:
    # manual runs are what a KFP pipeline without a recurring run gets: nothing to say
    assert schedule(schedule=None) == ScheduleResult(None, ())
    assert schedule() == ScheduleResult(None, ())


@pytest.mark.parametrize(
    ("value", "says", "severity"),
    [
        ("@once", "create one run", "info"),
        ("@continuous", "as soon as the last one ends", "warning"),
        (Unresolved('Dataset("s3://bucket/raw")'), "assets/datasets", "warning"),
        ([Unresolved('Asset("a")'), Unresolved('Asset("b")')], "assets/datasets", "warning"),
        (Unresolved('(Asset("a") | Asset("b")) & Asset("c")'), "conditional asset expression", "warning"),
        (Unresolved("WorkdayTimetable()"), "timetable KFP cannot express", "warning"),
        # an `@asset` function as the schedule, as the static reader reads it
        (
            PythonCallable("raw_quotes", "@asset(schedule='@daily')\ndef raw_quotes(): ..."),
            "raw_quotes: the DAG runs when assets",
            "warning",
        ),
    ],
)
def test_what_kfp_cannot_trigger_gets_no_run_and_a2k314(value, says: str, severity: str) -> None:
    result = schedule(schedule=value)
    assert result.run is None and codes(result) == [("A2K314", severity)]
    assert says in result.diagnostics[0].message


def test_cron_timetable_is_read_with_its_time_zone_reported() -> None:
    result = schedule(schedule=Unresolved('CronTriggerTimetable("0 1 * * *", timezone="Europe/Paris")'))
    assert result.run.cron == "0 0 1 * * *" and codes(result) == [("A2K314", "warning")]
    assert "fires in Europe/Paris in Airflow" in result.diagnostics[0].message
    # the timetable's own time zone governs the cron, not start_date's
    result = schedule(
        schedule=Unresolved('CronTriggerTimetable("0 1 * * *", timezone="UTC")'),
        start_date="2024-01-01T00:00:00+01:00",
        max_active_runs=1,
    )
    assert result.run.cron == "0 0 1 * * *" and result.run.notes == () and result.diagnostics == ()


def test_airflow_reading_uses_the_timetable_and_its_interval_offset() -> None:
    result = schedule(
        DS,
        schedule=Unresolved("x"),
        timetable="CronDataIntervalTimetable",
        timetable_summary="0 6 * * *",
        catchup=True,
    )
    assert result.run.cron == "0 0 6 * * *" and result.run.no_catchup is False
    assert result.run.parameters == DS
    assert "one period later" in result.diagnostics[0].message


def test_trigger_timetable_logical_date_is_a_note() -> None:
    run = schedule(DS, schedule="@daily").run
    assert run.parameters == DS and any("Airflow 3's logical date" in note for note in run.notes)


def test_catchup_unset_assumes_airflow_3_and_says_so() -> None:
    result = recurring_run(dag("d", [task("t")], [], settings={"schedule": "@daily"}), {}, None)
    assert result.run.no_catchup is True and codes(result) == [("A2K314", "info")]
    assert "Airflow 3's default catchup=False" in result.diagnostics[0].message
    assert result.run.start_time is None


def test_max_active_runs_above_kfp_limit_is_capped() -> None:
    result = schedule(schedule="@daily", max_active_runs=32)
    assert result.run.max_concurrency == 10 and codes(result) == [("A2K314", "warning")]
    assert "at most 10" in result.diagnostics[0].message
    # 16 is Airflow's default, which reading with Airflow always reports: a note, not a warning
    result = schedule(schedule="@daily", max_active_runs=16)
    assert result.run.max_concurrency == 10 and result.diagnostics == () and "default" in result.run.notes[0]


def test_start_date_from_default_args_and_time_zone() -> None:
    run = schedule(schedule="@daily", start_date=None, default_args={"start_date": "2024-03-01"}).run
    assert run.start_time == "2024-03-01T00:00:00Z"
    result = schedule(schedule="@daily", start_date="2024-01-01T00:00:00+01:00")
    assert result.run.start_time == "2024-01-01T00:00:00+01:00"
    assert "not in UTC" in result.diagnostics[0].message


def test_unreadable_start_date_is_reported() -> None:
    result = schedule(schedule="@daily", start_date=Unresolved("days_ago(1)"))
    assert result.run.start_time is None and "days_ago(1)" in result.diagnostics[0].message


def test_description_is_the_first_paragraph_of_doc_md() -> None:
    assert (
        dag_description(dag("d", [], [], settings={"doc_md": "# Daily ETL\nloads data\n\nDetails..."}))
        == "Daily ETL loads data"
    )
    assert dag_description(dag("d", [], [], settings={"doc_md": "doc"}, description="own")) == "own"
    assert dag_description(dag("d", [], [])) is None


# -- timetables as reading with Airflow records them (the probe's timetable_detail) -------------------


def timetable(cls: str, **detail) -> dict:
    return {
        "class": cls,
        "cron": None,
        "crons": None,
        "delta": None,
        "timezone": None,
        "data_interval": False,
        "assets": False,
        "can_be_scheduled": True,
        "time": None,
        **detail,
    }


@pytest.mark.parametrize(
    ("detail", "raw", "cron", "interval", "one_period_later"),
    [
        (
            timetable("CronTriggerTimetable", cron="0 3 * * *", timezone="UTC"),
            "0 3 * * *",
            "0 0 3 * * *",
            None,
            False,
        ),
        (
            timetable("CronDataIntervalTimetable", cron="0 0 * * *", timezone="UTC", data_interval=True),
            "@daily",
            "0 0 0 * * *",
            None,
            True,
        ),
        (timetable("DeltaTriggerTimetable", delta=Duration(21600)), Duration(21600), None, 21600, False),
        (
            timetable("DeltaDataIntervalTimetable", delta=Duration(7200), data_interval=True),
            "2:00:00",
            None,
            7200,
            True,
        ),
    ],
)
def test_the_timetable_airflow_made_decides(detail, raw, cron, interval, one_period_later) -> None:
    # Airflow 2 fills schedule_interval with the timetable's summary ("2:00:00"): the object decides
    result = schedule(DS, schedule=raw, timetable=detail["class"], timetable_detail=detail)
    assert (result.run.cron, result.run.interval_second) == (cron, interval)
    assert [d.code for d in result.diagnostics] == (["A2K314"] if one_period_later else [])
    assert all("one period later" in d.message for d in result.diagnostics)


@pytest.mark.parametrize("raw", [None, "None"])
def test_null_timetable_is_no_schedule_and_no_finding(raw) -> None:
    # Airflow 3 records schedule=None, Airflow 2's summary is the string "None"
    for settings in ({"timetable_detail": timetable("NullTimetable", can_be_scheduled=False)}, {}):
        assert schedule(
            schedule=raw if settings else None, timetable="NullTimetable", timetable_summary=raw, **settings
        ) == ScheduleResult(None, ())


@pytest.mark.parametrize(
    ("detail", "says", "severity", "cron"),
    [
        (timetable("OnceTimetable"), "create one run", "info", None),
        (timetable("ContinuousTimetable"), "as soon as the last one ends", "warning", None),
        (timetable("AssetTriggeredTimetable", assets=True), "assets/datasets are updated", "warning", None),
        (timetable("DatasetTriggeredTimetable", assets=True), "assets/datasets are updated", "warning", None),
        (
            timetable(
                "AssetOrTimeSchedule",
                assets=True,
                time=timetable("CronTriggerTimetable", cron="0 1 * * *", timezone="UTC"),
            ),
            "only its time schedule is carried",
            "warning",
            "0 0 1 * * *",
        ),
        (
            timetable("MultipleCronTriggerTimetable", crons=["0 1 * * *", "30 2 * * *"], timezone="UTC"),
            "a KFP recurring run has one",
            "warning",
            None,
        ),
        (
            timetable("DeltaTriggerTimetable", delta=Unresolved("relativedelta(months=+1)")),
            "calendar interval",
            "warning",
            None,
        ),
        (timetable("WorkdayTimetable"), "a timetable KFP cannot express", "warning", None),
    ],
)
def test_timetables_kfp_cannot_fire_on_are_said(detail, says: str, severity: str, cron) -> None:
    result = schedule(timetable=detail["class"], timetable_detail=detail)
    assert codes(result) == [("A2K314", severity)] and says in result.diagnostics[0].message
    assert (result.run.cron if result.run else None) == cron


def test_a_timetables_time_zone_is_reported() -> None:
    detail = timetable("CronTriggerTimetable", cron="0 1 * * *", timezone="Europe/Paris")
    result = schedule(
        timetable="CronTriggerTimetable", timetable_detail=detail, start_date="2024-01-01T00:00:00+01:00"
    )
    assert codes(result) == [("A2K314", "warning")] and "Europe/Paris" in result.diagnostics[0].message


@pytest.mark.parametrize(
    ("source", "seconds", "data_interval"),
    [
        ("DeltaTriggerTimetable(timedelta(hours=3))", 10800, False),
        ("DeltaDataIntervalTimetable(datetime.timedelta(days=1, minutes=30))", 88200, True),
        ("DeltaTriggerTimetable(duration(minutes=15))", 900, False),
    ],
)
def test_static_delta_timetables_become_periodic_schedules(
    source: str, seconds: int, data_interval: bool
) -> None:
    result = schedule(DS, schedule=Unresolved(source))
    assert result.run.interval_second == seconds
    assert bool(result.diagnostics) == data_interval


def test_static_cron_data_interval_timetable_says_one_period_later() -> None:
    result = schedule(DS, schedule=Unresolved('CronDataIntervalTimetable("0 5 * * *", timezone="UTC")'))
    assert result.run.cron == "0 0 5 * * *" and "one period later" in result.diagnostics[0].message
