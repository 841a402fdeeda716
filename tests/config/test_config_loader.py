"""The config loader: every problem at once, located, and nothing half-loaded."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.model import SnmpCredentials
from config.source import TOO_DEEP
from inventory.load import load_config, load_service_life_table

from tests.conftest import EXAMPLE


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def test_example_config_loads_with_its_included_inventory() -> None:
    config = load_config(EXAMPLE)
    assert len(config.files) > 1, "the example keeps its inventory in included files"
    ids = {d.id for d in config.devices}
    assert {"bb-sw-1", "bb-sw-2", "ips-svc-1", "media-ctl-1"} <= ids
    kiosks = [d for d in config.devices if d.category == "kiosk"]
    assert len(kiosks) == 8 and all(k.operating_hours for k in kiosks)
    pcs = {d.acquired.year: d.quantity for d in config.devices if d.category == "pc"}
    assert pcs == {2020: 101, 2019: 756, 2018: 123, 2017: 384, 2016: 65, 2015: 52, 2014: 104}
    assert sum(1 for d in config.devices if d.parent in ("sf-sw-1", "sf-sw-2")
               and d.category == "switch") == 83
    for device in config.devices:
        if device.poll and device.poll.address:
            assert device.poll.address.startswith("127.0.0."), device.id


def test_error_names_file_line_and_field(write) -> None:
    path = write("main.yaml", """\
        devices:
          - {id: a, name: A, category: switch}
          - {id: b, name: B, category: switch}
          - {id: c, name: C, category: switch}
          - id: d
            name: D
            category: switch
            acquired: 2008-13-01
        """)
    assert problems_of(path) == [
        f"{path}:8: devices[3].acquired: not a date: '2008-13-01' (write YYYY-MM-DD)"]


def test_every_problem_is_reported_at_once(write) -> None:
    write("inv/more.yaml", """\
        devices:
          - {id: a, name: again, category: pc}
          - {id: e, name: E, category: pc, quantity: -3}
        """)
    path = write("main.yaml", """\
        include: [inv/*.yaml, missing/*.yaml]
        credentials:
          v2: {version: 2c, community_env: C}
        devices:
          - {id: a, name: A, category: swich, aquired: 2010-01-01}
          - {id: b, name: B, category: switch, parent: nobody}
          - {id: c, name: C, category: switch, operating_hours: "Mon-Fry 09:00-18:00"}
          - id: d
            name: D
            category: switch
            poll: {protocol: snmp, address: 127.0.0.1, credentials: v3}
        """)
    found = problems_of(path)
    expected_fragments = [
        (f"{path}:1: include[1]", "matches no file"),
        (f"{path}:5: devices[0].aquired", "unknown key 'aquired' (did you mean 'acquired'?)"),
        (f"{path}:6: devices[1].parent", "unknown parent 'nobody'"),
        (f"{path}:7: devices[2].operating_hours", "unknown day 'fry'"),
        (f"{path}:11: devices[3].poll.credentials", "unknown credentials 'v3'"),
        (f"{path.parent / 'inv/more.yaml'}:2: devices[0].id", "duplicate id 'a'"),
        (f"{path.parent / 'inv/more.yaml'}:3: devices[1].quantity", "must be at least 1: got -3"),
    ]
    for prefix, fragment in expected_fragments:
        assert any(p.startswith(prefix) and fragment in p for p in found), (prefix, found)
    assert len(found) == len(expected_fragments), found


def test_unknown_category_suggests_the_closest(write) -> None:
    path = write("main.yaml", "devices:\n  - {id: a, name: A, category: swich}\n")
    [problem] = problems_of(path)
    assert problem.endswith("devices[0].category: unknown category 'swich' "
                            "(did you mean 'switch'?)")


def test_parent_cycle_is_reported_once(write) -> None:
    path = write("main.yaml", """\
        devices:
          - {id: a, name: A, category: switch, parent: c}
          - {id: b, name: B, category: switch, parent: a}
          - {id: c, name: C, category: switch, parent: b}
          - {id: d, name: D, category: switch, parent: d}
        """)
    found = problems_of(path)
    assert len(found) == 2, found
    assert any(("parent cycle:" in p and "a -> c -> b -> a" in p) or "parent cycle" in p
               for p in found)
    assert any("devices[3].parent: a device cannot be its own parent" in p for p in found)


@pytest.mark.parametrize("key", ["community", "auth_key", "priv_key"])
def test_inline_secret_is_refused_and_never_echoed(write, key: str) -> None:
    path = write("main.yaml", f"""\
        credentials:
          bad: {{version: 3, user: u, auth_protocol: SHA, priv_protocol: AES,
                 auth_key_env: A, priv_key_env: P, {key}: s3cr3t-value}}
        """)
    [problem] = problems_of(path)
    assert f"credentials.bad.{key}: secret written inline in {key}" in problem
    assert f"use {key}_env" in problem
    assert "s3cr3t-value" not in problem


def test_secret_references_resolve_at_use_and_hide_in_repr(write, tmp_path, monkeypatch) -> None:
    (tmp_path / "priv.key").write_text("file-secret\n")
    path = write("main.yaml", """\
        credentials:
          v3: {version: 3, user: noc, auth_protocol: SHA, auth_key_env: T_AUTH,
               priv_protocol: AES, priv_key_file: priv.key}
        """)
    monkeypatch.setenv("T_AUTH", "env-secret")
    cred = load_config(path).credentials["v3"]
    assert isinstance(cred, SnmpCredentials) and cred.security_level == "authPriv"
    assert cred.auth_key.reveal() == "env-secret"
    assert cred.priv_key.reveal() == "file-secret"
    assert "env-secret" not in repr(cred) and "file-secret" not in repr(cred)


def test_malformed_yaml_names_the_line(write) -> None:
    path = write("main.yaml", "devices:\n  - id: a\n    name: [unclosed\n  - id: b\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:") and "malformed YAML" in problem


def test_duplicate_yaml_key_is_an_error(write) -> None:
    path = write("main.yaml", "devices:\n  - id: a\n    name: A\n    name: B\n    category: pc\n")
    [problem] = problems_of(path)
    assert problem == f"{path}:4: devices[0].name: duplicate key 'name'"


def test_missing_and_unreadable_files(tmp_path) -> None:
    assert problems_of(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: no such file"]
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("devices: []\n# caf\xe9\n".encode("latin-1"))
    [problem] = problems_of(latin)
    assert problem.startswith(f"{latin}:2:") and "not UTF-8" in problem


def test_sections_reserved_for_the_main_file(write) -> None:
    write("inv/a.yaml", "agent: {name: x}\ndevices: []\n")
    path = write("main.yaml", "include: inv/*.yaml\n")
    [problem] = problems_of(path)
    assert "inv/a.yaml:1: agent: 'agent' belongs in the main configuration file" in problem


def test_poll_deadline_must_fit_the_interval(write) -> None:
    path = write("main.yaml", """\
        credentials: {v2: {version: 2c, community_env: C}}
        devices:
          - id: a
            name: A
            category: switch
            poll: {protocol: snmp, address: "127.0.0.1:1161", credentials: v2,
                   interval: 10s, timeout: 4s, retries: 2}
        """)
    [problem] = problems_of(path)
    assert "devices[0].poll.timeout" in problem and "4s x 3 = 12s" in problem


def test_poll_address_forms(write) -> None:
    path = write("main.yaml", """\
        credentials: {v2: {version: 2c, community_env: C}}
        devices:
          - {id: a, name: A, category: switch,
             poll: {protocol: snmp, address: "127.0.0.1:1161", credentials: v2}}
          - {id: b, name: B, category: switch,
             poll: {protocol: snmp, address: "[::1]:1162", credentials: v2}}
          - {id: c, name: C, category: switch,
             poll: {protocol: snmp, address: "127.0.0.3", credentials: v2}}
        """)
    polls = {d.id: (d.poll.address, d.poll.port) for d in load_config(path).devices}
    assert polls == {"a": ("127.0.0.1", 1161), "b": ("::1", 1162), "c": ("127.0.0.3", 161)}


def test_year_only_acquisition_means_first_of_january(write) -> None:
    path = write("main.yaml", "devices:\n  - {id: a, name: A, category: pc, acquired: 2019}\n")
    [device] = load_config(path).devices
    assert device.acquired == date(2019, 1, 1) and device.acquired_year_only


def test_service_life_overrides_keep_history(write) -> None:
    path = write("main.yaml", """\
        service_life:
          backbone_switch: 9
          pc: {years: 6, effective_from: 2024-01-01}
          drone: {years: 4, name_ko: 드론, name_en: Drone}
        """)
    categories = load_config(path).categories
    assert [r.years for r in categories["backbone_switch"].rules] == [9]
    assert categories["pc"].rule_for(date(2023, 12, 31)).years == 5
    assert categories["pc"].rule_for(date(2024, 1, 1)).years == 6
    assert categories["pc"].rule_for(date(2001, 5, 1)).years == 3   # the 2003 report's rule
    assert categories["drone"].name_ko == "드론"


def test_unknown_service_life_category_needs_a_name(write) -> None:
    path = write("main.yaml", "service_life:\n  swtich: 5\n")
    [problem] = problems_of(path)
    assert "service_life.swtich: unknown category 'swtich' (did you mean 'switch'?)" in problem


def test_shipped_table_has_the_required_categories() -> None:
    table = load_service_life_table()
    required = ["backbone_switch", "switch", "router", "firewall", "ips", "security_appliance",
                "server", "storage", "backup", "ups", "crac", "cctv_server", "cctv_camera",
                "nvr", "kiosk", "pc", "notebook", "monitor", "printer", "mfp_lease", "wifi_ap",
                "signage"]
    for key in required:
        category = table[key]
        assert category.name_ko and category.name_en, key
        assert all(rule.source for rule in category.rules), key
    # the figures the district's documents give
    figures = {"backbone_switch": 7, "ips": 6, "server": 6, "pc": 5, "printer": 6, "mfp_lease": 3,
               "security_appliance": 6}
    for key, years in figures.items():
        assert table[key].rule_for(date(2020, 1, 1)).years == years, key


def test_include_cycle_is_harmless(write) -> None:
    write("b.yaml", "include: main.yaml\ndevices:\n  - {id: b, name: B, category: pc}\n")
    path = write("main.yaml", "include: b.yaml\ndevices:\n  - {id: a, name: A, category: pc}\n")
    assert sorted(d.id for d in load_config(path).devices) == ["a", "b"]


def test_channels_and_routes_are_checked(write) -> None:
    path = write("main.yaml", """\
        alerts:
          channels:
            - {name: hook, type: webhook}
            - {name: mail, type: email, smtp: "127.0.0.1:25", from: a@b, to: [c@d], password: pw}
          routes:
            - {match: {severity: critical}, channels: [hok]}
        """)
    found = problems_of(path)
    assert any("alerts.channels[0]: a webhook channel needs a url" in p for p in found), found
    assert any("alerts.channels[1].password: secret written inline" in p for p in found), found
    assert any("alerts.routes[0].channels[0]: unknown channel 'hok'" in p
               and "did you mean 'hook'" in p for p in found), found


@pytest.mark.parametrize("text,message", [
    ("devices: &x [*x]\n", "devices[0]: recursive YAML alias"),
    # deeper than the YAML library's own limit, and deeper than ours but within the library's
    ("devices: " + "[" * 3000 + "]" * 3000 + "\n", TOO_DEEP),
    ("devices: " + "[" * 150 + "]" * 150 + "\n", TOO_DEEP),
    ("devices:\n" + "".join("  " * i + "- \n" for i in range(1, 140)), TOO_DEEP),
    ("- just\n- a list\n", "the file must be a mapping of sections"),
    ("devices: {id: a}\n", "devices: must be a list, not dict"),
])
def test_hostile_yaml_gets_a_located_error(write, text: str, message: str) -> None:
    path = write("main.yaml", text)
    [problem] = problems_of(path)
    assert message in problem


def _nested(levels: int, inner: str) -> str:
    return "[" * levels + inner + "]" * levels


@pytest.mark.parametrize("text,line,message", [
    # each anchor within the depth limit, the alias of the alias past it
    ("a0: &a0 " + _nested(60, "1") + "\n"
     "a1: &a1 " + _nested(60, "*a0") + "\n"
     "devices: [{id: s1, name: *a1}]\n", 2, TOO_DEEP),
    # the "billion laughs": 2^40 values from 41 short lines
    ("a0: &a0 [x, x]\n" + "".join(f"a{n}: &a{n} [*a{n - 1}, *a{n - 1}]\n" for n in range(1, 41))
     + "devices: *a40\n", None, "YAML aliases repeat more than 10 times"),
    ("x: &m <<\ndevices: {*m : 1}\n", 2, "merge keys (<<) are not supported"),
    ("devices: *nope\n", 1, "'nope'"),
])
def test_aliases_are_held_to_the_limits_of_what_they_repeat(write, text: str, line: int | None,
                                                            message: str) -> None:
    """An alias is the anchored value itself, not a copy: its depth and the values it
    repeats still count, and an alias to the merge key is the merge key."""
    path = write("main.yaml", text)
    [problem] = problems_of(path)
    assert message in problem
    if line is not None:
        assert f"main.yaml:{line}:" in problem, problem


def test_aliases_within_the_limits_load(write) -> None:
    """The common use: one anchored poll section for many devices."""
    devices = "".join(f"  - {{id: s{i}, name: S{i}, category: switch, poll: *poll}}\n"
                      for i in range(1, 300))
    path = write("main.yaml", "devices:\n  - {id: s0, name: S0, category: switch, "
                              "poll: &poll {protocol: icmp, address: 127.0.0.1}}\n" + devices)
    config = load_config(path)
    assert len(config.devices) == 300
    assert {d.poll.address for d in config.devices if d.poll} == {"127.0.0.1"}


def test_a_bad_section_hides_no_other_problem_and_makes_no_false_one(write) -> None:
    """An invalid `agent:` once stopped includes and overrides from being read: devices
    in included files went unchecked, and references to them were reported as unknown."""
    write("inc/more.yaml", "devices:\n  - {id: p, name: P, category: switch, quantity: 0}\n")
    path = write("main.yaml", """\
        agent: {bogus: 1}
        include: [inc/*.yaml]
        service_life: {newcat: {years: 5, name_en: New}}
        devices:
          - {id: a, name: A, category: newcat, parent: p}
        """)
    found = problems_of(path)
    assert [p.split(": ", 1)[1] for p in found] == [
        "devices[0].quantity: must be at least 1: got 0",
        "agent.bogus: unknown key 'bogus'"], found


def test_schema_errors_are_in_our_words(write) -> None:
    path = write("main.yaml", """\
        agent: {log_format: xml, retention_days: 0}
        devices:
          - {id: a, name: A, category: switch, criticality: urgent, unit_cost_krw: 1.5}
        """)
    assert [p.split(": ", 1)[1] for p in problems_of(path)] == [
        "agent.log_format: must be one of plain, json: got 'xml'",
        "agent.retention_days: must be at least 1: got 0",
        "devices[0].criticality: must be one of critical, high, normal, low: got 'urgent'",
        "devices[0].unit_cost_krw: not a whole number: 1.5"]


def test_a_bad_trap_listen_address_is_a_located_problem(write) -> None:
    path = write("main.yaml", """\
        traps:
          listen: "162"
        devices: []
        """)
    assert problems_of(path) == [
        f"{path}:2: traps.listen: must be an IPv4 HOST:PORT such as 127.0.0.1:162 or "
        "0.0.0.0:162, got '162'"]
