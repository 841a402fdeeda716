"""Configuration problems in the CLI's language: `lifeline validate --lang ko|en`, else the
locale (LANG=ko_KR.UTF-8). The location `FILE:LINE: field.path:` stays as it is; the
English is what it always was; a secret is never echoed in either language."""
from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import main

DEVICE = "{{id: {id}, name: N, category: {category}, acquired: {acquired}{more}}}"


def _device(id: str = "a", category: str = "pc", acquired: str = "2015-01-01",
            more: str = "") -> str:
    return DEVICE.format(id=id, category=category, acquired=acquired, more=more)


# (name, files, line, field, English, Korean)
CASES = [
    ("bad date", {"main.yaml": f"devices:\n  - {_device(acquired='2008-13-01')}\n"},
     2, "devices[0].acquired", "not a date: '2008-13-01' (write YYYY-MM-DD)",
     "날짜가 아닙니다: '2008-13-01' (YYYY-MM-DD로 쓰십시오)"),
    ("unknown category", {"main.yaml": f"devices:\n  - {_device(category='backbone_swich')}\n"},
     2, "devices[0].category",
     "unknown category 'backbone_swich' (did you mean 'backbone_switch'?)",
     "알 수 없는 분류 'backbone_swich' (혹시 'backbone_switch'?)"),
    ("inline secret", {"main.yaml": "credentials:\n  c: {version: 2c, community: hunter2}\n"},
     2, "credentials.c.community",
     "secret written inline in community: use community_env (an environment variable) or "
     "community_file (a file) instead",
     "community에 비밀값이 그대로 적혀 있습니다: 대신 community_env(환경 변수)나 "
     "community_file(파일)을 쓰십시오"),
    ("duplicate id", {"main.yaml": f"devices:\n  - {_device()}\n  - {_device()}\n"},
     3, "devices[1].id", "duplicate id 'a' (first at {dir}/main.yaml:2)",
     "id가 중복됩니다: 'a' (처음 나온 곳: {dir}/main.yaml:2)"),
    ("parent cycle", {"main.yaml": f"devices:\n  - {_device('a', more=', parent: b')}\n"
                                   f"  - {_device('b', more=', parent: a')}\n"},
     2, "devices[0].parent", "parent cycle: a -> b -> a", "상위 장비가 순환합니다: a -> b -> a"),
    ("include outside", {"conf/main.yaml": "include: ['../elsewhere/*.yaml']\n",
                         "elsewhere/more.yaml": "devices: []\n"},
     1, "include[0]",
     "include '../elsewhere/*.yaml' reaches outside the configuration's directory (1 file not "
     "read); the main file may allow another directory with include_roots",
     "include '../elsewhere/*.yaml'이(가) 설정 디렉터리 밖을 가리킵니다 (파일 1개를 읽지 "
     "않았습니다). 다른 디렉터리는 주 설정 파일의 include_roots로 허용할 수 있습니다"),
    ("malformed YAML", {"main.yaml": "devices:\n  - [a, b\n"},
     3, "", "malformed YAML: did not find expected ',' or ']'",
     "YAML 형식이 잘못되었습니다: did not find expected ',' or ']'"),
    ("bad listen address", {"main.yaml": "agent: {http_listen: 'nowhere:99999'}\n"},
     1, "agent.http_listen",
     "must be an IP HOST:PORT such as 127.0.0.1:9108, [::1]:9108 or 0.0.0.0:9108, got "
     "'nowhere:99999'",
     "IP HOST:PORT 형식이어야 합니다 (예: 127.0.0.1:9108, [::1]:9108, 0.0.0.0:9108): "
     "'nowhere:99999'"),
]


def _validate(tmp_path: Path, files: dict[str, str], args: list[str],
              capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    config = tmp_path / next(iter(files))
    assert main(["validate", str(config), *args]) == 1
    captured = capsys.readouterr()
    return config, captured.err


def _expected(config: Path, line: int, field: str, message: str) -> str:
    where = f"{config}:{line}: {field}: " if field else f"{config}:{line}: "
    return where + message.replace("{dir}", str(config.parent))


@pytest.fixture(autouse=True)
def _english_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.mark.parametrize("name,files,line,field,english,korean", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("how", ["--lang ko", "--lang en", "LANG=ko_KR.UTF-8"])
def test_each_problem_in_the_chosen_language(tmp_path, capsys, monkeypatch, how, name, files,
                                             line, field, english, korean) -> None:
    if how.startswith("LANG="):
        monkeypatch.setenv("LANG", how.removeprefix("LANG="))
        args: list[str] = []
    else:
        args = how.split()
    config, err = _validate(tmp_path, files, args, capsys)
    message = english if how == "--lang en" else korean
    assert _expected(config, line, field, message) in err.splitlines(), err
    assert "hunter2" not in err
    summary = err.splitlines()[-1]
    assert summary.endswith("nothing was loaded" if how == "--lang en"
                            else "아무것도 읽지 않았습니다"), summary


def test_json_says_the_kind_and_the_message_in_the_language(tmp_path, capsys) -> None:
    files = {"main.yaml": f"devices:\n  - {_device(acquired='2008-13-01')}\n"}
    _validate(tmp_path, files, ["--lang", "ko", "--format", "json"], capsys)
    # stdout was read with stderr above; run again for the document
    config = tmp_path / "main.yaml"
    assert main(["validate", str(config), "--lang", "ko", "--format", "json"]) == 1
    import json
    [problem] = json.loads(capsys.readouterr().out)["problems"]
    assert problem["kind"] == "not_a_date"
    assert problem["message"] == "날짜가 아닙니다: '2008-13-01' (YYYY-MM-DD로 쓰십시오)"
    assert problem["text"].startswith(f"{config}:2: devices[0].acquired: ")


def test_the_config_s_own_lang_is_the_default(tmp_path, capsys) -> None:
    files = {"main.yaml": "agent: {lang: ko}\n"
                          f"devices:\n  - {_device(acquired='2008-13-01')}\n"}
    config, err = _validate(tmp_path, files, [], capsys)
    assert f"{config}:3: devices[0].acquired: 날짜가 아닙니다" in err, err


def test_other_commands_too(tmp_path, capsys) -> None:
    """`inventory` (and every command loading the config) shows them the same way."""
    path = tmp_path / "main.yaml"
    path.write_text(f"devices:\n  - {_device(acquired='2008-13-01')}\n", encoding="utf-8")
    assert main(["inventory", str(path), "--lang", "ko"]) == 1
    assert f"{path}:2: devices[0].acquired: 날짜가 아닙니다" in capsys.readouterr().err
