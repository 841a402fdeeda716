"""storage.influxdb: the v2 API (org, bucket, token) by default, the v1 API (database,
retention policy, username and password) with `api: v1`; keys of the other API, a missing
bucket or database, an inline password, two sources of one secret are located errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import ConfigError
from config.model import SecretRef
from inventory.load import load_config

from tests.conftest import run_lifeline


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def test_v2_stays_the_default_with_org_bucket_and_token(write) -> None:
    path = write("main.yaml", """\
        storage:
          influxdb: {url: "http://127.0.0.1:8086", org: district, bucket: infra,
                     token_env: LL_T_TOKEN}
        """)
    settings = load_config(path).influxdb
    assert settings is not None
    assert (settings.api, settings.org, settings.bucket) == ("v2", "district", "infra")
    assert settings.token == SecretRef(env="LL_T_TOKEN")
    assert settings.describe() == "http://127.0.0.1:8086 (org 'district', bucket 'infra')"


def test_v1_reads_database_policy_and_credentials_from_env_or_file(write, tmp_path,
                                                                   monkeypatch) -> None:
    (tmp_path / "influx.password").write_text("file-Pass-1\n")
    path = write("main.yaml", """\
        storage:
          influxdb:
            api: v1
            url: http://127.0.0.1:8086
            database: telegraf
            retention_policy: two_weeks
            username_env: LL_T_INFLUX_USER
            password_file: influx.password
        """)
    monkeypatch.setenv("LL_T_INFLUX_USER", "lifeline")
    settings = load_config(path).influxdb
    assert settings is not None
    assert (settings.api, settings.database, settings.retention_policy) == (
        "v1", "telegraf", "two_weeks")
    assert settings.username == SecretRef(env="LL_T_INFLUX_USER")
    assert settings.password is not None and settings.password.reveal() == "file-Pass-1"
    assert "file-Pass-1" not in repr(settings)
    assert settings.describe() == ("http://127.0.0.1:8086 (database 'telegraf', retention "
                                   "policy 'two_weeks')")
    assert len(settings.secrets()) == 2


def test_a_v1_username_may_be_written_and_the_policy_left_to_the_database(write) -> None:
    path = write("main.yaml", """\
        storage:
          influxdb: {api: v1, url: "http://127.0.0.1:8086", database: infra,
                     username: lifeline, password_env: LL_T_PW}
        """)
    settings = load_config(path).influxdb
    assert settings is not None and settings.username == "lifeline"
    assert settings.secrets() == (SecretRef(env="LL_T_PW"),)
    assert settings.describe().endswith("(database 'infra', its default retention policy)")


@pytest.mark.parametrize(("body", "expected"), [
    ("{api: v1, url: u, database: d, bucket: b}",
     "storage.influxdb: bucket is for api: v2 only (this is api: v1)"),
    ("{url: u, bucket: b, password_env: P}",
     "storage.influxdb: password_env is for api: v1 only (this is api: v2)"),
    ("{url: u, org: o}", "storage.influxdb: api: v2 needs a bucket"),
    ("{api: v1, url: u}", "storage.influxdb: api: v1 needs a database"),
    ("{api: v1, url: u, database: d, username: a, username_env: U}",
     "storage.influxdb: give one of username, username_env and username_file, not "
     "username and username_env"),
    ("{api: v1, url: u, database: d, password_env: P, password_file: f}",
     "storage.influxdb: give password_env or password_file, not both"),
    ("{api: v3, url: u, database: d}", "storage.influxdb.api"),
])
def test_mistakes_are_located_errors(write, body: str, expected: str) -> None:
    path = write("main.yaml", f"storage:\n  influxdb: {body}\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:2: ") and expected in problem, problem


def test_an_inline_password_is_refused_and_never_echoed(write) -> None:
    path = write("main.yaml", """\
        storage:
          influxdb: {api: v1, url: u, database: d, username: a, password: Hunter2-xyz}
        """)
    [problem] = problems_of(path)
    assert "secret written inline in password: use password_env" in problem
    assert "Hunter2-xyz" not in problem


def test_validate_warns_about_a_password_it_cannot_read(write) -> None:
    path = write("main.yaml", """\
        storage:
          influxdb: {api: v1, url: "http://127.0.0.1:8086", database: infra,
                     username: lifeline, password_env: LL_T_UNSET_INFLUX_PW}
        """)
    result = run_lifeline("validate", path)
    assert result.returncode == 0, result.stderr
    assert ("warning: storage.influxdb: environment variable LL_T_UNSET_INFLUX_PW is not "
            "set") in result.stderr
