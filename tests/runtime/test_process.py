"""A service as a real process: help, signals, exit codes."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import yaml

from tests.runtime.processes import events, run_app, sigterm_once_started, wait_for

APP = "recording_service"


@pytest.mark.parametrize("word", ["-h", "--help", "h", "help"])
def test_help_prints_required_variables_and_exits_0_without_hooks(
    tmp_path: Path, word: str
) -> None:
    # REC_PGSQL_USERNAME is required and missing: help must still work.
    proc = run_app(APP, tmp_path, word)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out.startswith("recorder\nRecords its hooks\n\nUsage:\n")
    assert "--all" in out
    assert "--yaml" in out
    assert "--without-comments" in out
    assert "REC_PGSQL_USERNAME" in out
    assert "REC_PGSQL_HOST" not in out  # has a default: shown with --all only
    assert events(tmp_path) == []


def test_help_all_lists_every_variable_in_registration_order_without_secrets(
    tmp_path: Path,
) -> None:
    proc = run_app(APP, tmp_path, "help", "--all", env={"REC_PGSQL_PORT": "abc"})
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    names = [
        n
        for n in ("REC_LOG_LEVEL", "REC_SHUTDOWN_TIMEOUT", "REC_PGSQL_HOST", "REC_PGSQL_PASSWORD")
        if n in out
    ]
    assert names == [
        "REC_LOG_LEVEL",
        "REC_SHUTDOWN_TIMEOUT",
        "REC_PGSQL_HOST",
        "REC_PGSQL_PASSWORD",
    ]
    assert (
        out.index("REC_LOG_LEVEL") < out.index("REC_SHUTDOWN_TIMEOUT") < out.index("REC_PGSQL_HOST")
    )
    assert "s3cret-default" not in out
    assert "******" in out


def test_help_yaml_is_valid_yaml(tmp_path: Path) -> None:
    proc = run_app(APP, tmp_path, "help", "--yaml", "--all", "--without-comments")
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    document = out[out.index("---") :]
    loaded = yaml.safe_load(document)
    assert loaded["REC_PGSQL_HOST"] == "localhost"
    assert "# " not in document


def test_sigterm_runs_stop_hooks_and_exits_0(tmp_path: Path) -> None:
    proc = run_app(APP, tmp_path, env={"REC_PGSQL_USERNAME": "app"})
    err = sigterm_once_started(proc, tmp_path)
    assert proc.returncode == 0, err
    assert events(tmp_path) == [
        "pgsql.pre_start",
        "started",
        "user.on_stop_sync",
        "pgsql.on_stop.begin",
        "pgsql.on_stop",
    ]
    assert "received SIGTERM: stopping" in err
    assert "[recorder]" in err  # the service name on every log line


def test_what_start_up_built_is_frozen_out_of_the_collector(tmp_path: Path) -> None:
    proc = run_app(APP, tmp_path, mode="report_frozen", env={"REC_PGSQL_USERNAME": "app"})
    err = sigterm_once_started(proc, tmp_path)
    assert proc.returncode == 0, err
    assert "frozen objects: yes" in events(tmp_path)


def test_stop_with_error_exits_non_zero(tmp_path: Path) -> None:
    proc = run_app(APP, tmp_path, mode="stop_with_error", env={"REC_PGSQL_USERNAME": "app"})
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert "stopping because of an error: lost the upstream" in err
    assert events(tmp_path)[-1] == "pgsql.on_stop"


def test_start_failure_exits_1_with_the_culprit_and_no_traceback(tmp_path: Path) -> None:
    proc = run_app(APP, tmp_path, mode="fail_pre_start", env={"REC_PGSQL_USERNAME": "app"})
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert (
        'recorder: start failed at plugins pre_start: plugin "pgsql" pre_start: '
        "ConnectionError: connection refused" in err
    )
    assert "Traceback" not in err


def test_all_configuration_problems_are_reported_together(tmp_path: Path) -> None:
    proc = run_app(
        APP,
        tmp_path,
        env={
            "REC_SHUTDOWN_TIMEOUT": "soon",
            "REC_PGSQL_PASSWORD": "hunter2",
            "REC_LOG_FORMAT": "xml",
        },
    )
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert "REC_PGSQL_USERNAME: required environment variable not set" in err
    assert "REC_SHUTDOWN_TIMEOUT: 'soon' is not a valid duration" in err
    assert "REC_LOG_FORMAT" in err
    assert "hunter2" not in err
    assert events(tmp_path) == []


def test_json_logs_carry_the_service_name(tmp_path: Path) -> None:
    proc = run_app(APP, tmp_path, env={"REC_PGSQL_USERNAME": "app", "REC_LOG_FORMAT": "json"})
    err = sigterm_once_started(proc, tmp_path)
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert records
    assert {r["service"] for r in records} == {"recorder"}
    assert any(r["message"].startswith('plugin "pgsql" started in ') for r in records)


def test_second_sigint_forces_exit_while_a_stop_hook_hangs(tmp_path: Path) -> None:
    proc = run_app(APP, tmp_path, mode="stuck_stop", env={"REC_PGSQL_USERNAME": "app"})
    try:
        wait_for(tmp_path, "started")
        proc.send_signal(signal.SIGINT)
        wait_for(tmp_path, "pgsql.on_stop.begin")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "second interrupt: exiting at once" in err
    assert "pgsql.on_stop" not in events(tmp_path)
