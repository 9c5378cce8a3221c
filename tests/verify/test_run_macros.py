"""KFP's run macros and Go's text formats, as the local Argo run needs them."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from airflow2kfp.verify.run_macros import format_run_macros, go_json, go_time

RUN_AT = datetime(2021, 1, 1, tzinfo=UTC)  # 1609459200, KFP's TestNewRunParameterFormatter


def test_kfp_run_parameter_formatter():
    # kubeflow/pipelines backend TestNewRunParameterFormatter: RunUUID and CurrentTime are
    # substituted ("time-20210101000000"); "ScheduledTime is disabled, so it should not be substituted"
    assert (
        format_run_macros("prefix-[[RunUUID]]-suffix", "run-abc-123", RUN_AT) == "prefix-run-abc-123-suffix"
    )
    assert format_run_macros("time-[[CurrentTime]]", "u", RUN_AT) == "time-20210101000000"
    assert format_run_macros("sched-[[ScheduledTime]]", "u", RUN_AT) == "sched-[[ScheduledTime]]"
    assert format_run_macros("[[CurrentTime.2006-01-02]] [[Index]] [[other]]", "u", RUN_AT) == (
        "2021-01-01 [[Index]] [[other]]"
    )


@pytest.mark.parametrize(
    "layout, text",
    [
        # the converter's time parameters (airflow2kfp/mapping/templates.py TIME_MACROS)
        ("2006-01-02", "2024-03-05"),
        ("20060102", "20240305"),
        ("2006-01-02T15:04:05-07:00", "2024-03-05T07:08:09+00:00"),
        ("20060102T150405", "20240305T070809"),
        ("20060102T150405-0700", "20240305T070809+0000"),
        ("2006-01-02 15:04:05-07:00", "2024-03-05 07:08:09+00:00"),
        # Go's layouts (time.Format): names, padding, 12-hour clock, zones in UTC, fractions
        ("Mon Jan _2 15:04:05 MST 2006", "Tue Mar  5 07:08:09 UTC 2024"),
        ("Monday January 2 3:4:5 PM", "Tuesday March 5 7:8:9 AM"),
        ("2006-01-02T15:04:05Z07:00", "2024-03-05T07:08:09Z"),
        ("06 002 .000 .999 ,000", "24 065 .250 .25 ,250"),
        ("Janet", "Janet"),  # "Jan" followed by a lower-case letter is text
    ],
)
def test_go_time_layouts(layout, text):
    moment = datetime(2024, 3, 5, 7, 8, 9, 250000, tzinfo=timezone(timedelta(hours=0)))
    assert go_time(moment, layout) == text


def test_go_time_converts_to_utc():
    assert (
        go_time(datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))), "2006-01-02T15")
        == "2024-01-01T00"
    )


def test_go_json_writes_as_encoding_json_does():
    # no spaces, keys sorted (maps), HTML characters and line separators escaped, numbers as float64
    value = {"b": [1, 2.5, 1e21, 1.5e-7, 0.000001, 12345678901234567890], "a": "<&>\u2028é\b", "c": None}
    assert go_json(value) == (
        '{"a":"\\u003c\\u0026\\u003e\\u2028é\\u0008","b":[1,2.5,1e+21,1.5e-7,0.000001,12345678901234567000],"c":null}'
    )
    assert go_json([True, False, "", [], {}]) == '[true,false,"",[],{}]'
