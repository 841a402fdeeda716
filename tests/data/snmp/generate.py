"""Writes the .snmprec recordings the SNMP tests serve with snmpsim.

Run from the repository root: `python tests/data/snmp/generate.py`. The output is
committed; this script is how it was made and how to change it. Each line is
`OID|tag|value` (2 INTEGER, 4 string, 6 OID, 65 Counter32, 66 Gauge32, 67 TimeTicks,
70 Counter64); `TAG:numeric|rate=R,initial=I[,wrap=1]` values move with time.
"""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
IF = "1.3.6.1.2.1.2.2.1"
IFX = "1.3.6.1.2.1.31.1.1.1"
UPS = "1.3.6.1.2.1.33.1"
ENT = "1.3.6.1.2.1.47.1.1.1.1"
HR = "1.3.6.1.2.1.25"


def system(descr: str, object_id: str, name: str) -> list[tuple[str, str, str]]:
    return [("1.3.6.1.2.1.1.1.0", "4", descr), ("1.3.6.1.2.1.1.2.0", "6", object_id),
            ("1.3.6.1.2.1.1.3.0", "67:numeric", "rate=100,initial=8640000"),
            ("1.3.6.1.2.1.1.5.0", "4", name)]


def interfaces(ports: int, *, down: set[int] = frozenset(), admin_down: set[int] = frozenset(),
               hc: bool = True, moving: bool = True) -> list[tuple[str, str, str]]:
    rows = []
    for i in range(1, ports + 1):
        oper = 2 if i in down or i in admin_down else 1
        up = oper == 1
        rows += [(f"{IF}.1.{i}", "2", str(i)), (f"{IF}.2.{i}", "4", f"GigabitEthernet0/{i}"),
                 (f"{IF}.3.{i}", "2", "6"), (f"{IF}.5.{i}", "66", "1000000000" if up else "0"),
                 (f"{IF}.7.{i}", "2", "2" if i in admin_down else "1"), (f"{IF}.8.{i}", "2", str(oper)),
                 (f"{IF}.13.{i}", "65", str(i)), (f"{IF}.14.{i}", "65:numeric" if i == 3 else "65",
                                                  "rate=50,initial=10" if i == 3 else "0"),
                 (f"{IF}.19.{i}", "65", "0"), (f"{IF}.20.{i}", "65", "0")]
        if not hc:
            if i == 1:
                # Wraps every 2 s (2^31 per second): two polls a moment apart see a wrap.
                rows += [(f"{IF}.10.{i}", "65:numeric", "rate=2147483648,initial=0,wrap=1"),
                         (f"{IF}.16.{i}", "65:numeric", "rate=1000,initial=4000000000,wrap=1")]
            else:
                rows += [(f"{IF}.10.{i}", "65", str(1000 * i)), (f"{IF}.16.{i}", "65", str(2000 * i))]
            continue
        rate = 125000 * i if (moving and up) else 0
        rows += [(f"{IF}.10.{i}", "65", "0"), (f"{IF}.16.{i}", "65", "0"),
                 (f"{IFX}.1.{i}", "4", f"Gi0/{i}"),
                 (f"{IFX}.6.{i}", "70:numeric" if rate else "70",
                  f"rate={rate},initial={10**9 * i}" if rate else str(10**6 * i)),
                 (f"{IFX}.10.{i}", "70:numeric" if rate else "70",
                  f"rate={rate // 2},initial={10**9}" if rate else "0"),
                 (f"{IFX}.15.{i}", "66", "1000" if up else "0"),
                 (f"{IFX}.18.{i}", "4", "uplink-core" if i == 24 else ("" if i > 2 else f"desk-{i}"))]
    return rows


def host_resources(cpus: int) -> list[tuple[str, str, str]]:
    rows = [(f"{HR}.1.1.0", "67", "12345600")]
    storage = [(1, "2", "Physical memory", 1024, 2_000_000, 1_500_000),
               (3, "3", "Virtual memory", 1024, 4_000_000, 1_600_000),
               (31, "4", "/", 4096, 2_500_000, 1_000_000)]
    for idx, kind, descr, unit, size, used in storage:
        rows += [(f"{HR}.2.3.1.1.{idx}", "2", str(idx)),
                 (f"{HR}.2.3.1.2.{idx}", "6", f"{HR}.2.1.{kind}"),
                 (f"{HR}.2.3.1.3.{idx}", "4", descr), (f"{HR}.2.3.1.4.{idx}", "2", str(unit)),
                 (f"{HR}.2.3.1.5.{idx}", "2", str(size)), (f"{HR}.2.3.1.6.{idx}", "2", str(used))]
    rows += [(f"{HR}.3.3.1.2.{196607 + c}", "2", str(10 + 30 * c)) for c in range(1, cpus + 1)]
    return rows


def ups(*, on_battery: bool) -> list[tuple[str, str, str]]:
    rows = [(f"{UPS}.1.1.0", "4", "ExamplePower"), (f"{UPS}.1.2.0", "4", "EP-3000"),
            (f"{UPS}.2.1.0", "2", "3" if on_battery else "2"),
            (f"{UPS}.2.2.0", "2", "1260" if on_battery else "0"),
            (f"{UPS}.2.3.0", "2", "4" if on_battery else "45"),
            (f"{UPS}.2.4.0", "2", "12" if on_battery else "100"),
            (f"{UPS}.2.5.0", "2", "481" if on_battery else "546"),
            (f"{UPS}.2.7.0", "2", "31" if on_battery else "25"),
            (f"{UPS}.3.3.1.2.1", "2", "0" if on_battery else "600"),
            (f"{UPS}.3.3.1.3.1", "2", "0" if on_battery else "220"),
            (f"{UPS}.4.1.0", "2", "5" if on_battery else "3"),
            (f"{UPS}.4.4.1.2.1", "2", "220"), (f"{UPS}.4.4.1.3.1", "2", "15"),
            (f"{UPS}.4.4.1.4.1", "2", "300"), (f"{UPS}.4.4.1.5.1", "2", "23"),
            (f"{UPS}.6.1.0", "66", "3" if on_battery else "0")]
    if on_battery:
        for i, well_known in enumerate((1, 2, 3), start=1):   # BatteryBad, OnBattery, LowBattery
            rows += [(f"{UPS}.6.2.1.1.{i}", "2", str(i)),
                     (f"{UPS}.6.2.1.2.{i}", "6", f"{UPS}.6.3.{well_known}"),
                     (f"{UPS}.6.2.1.3.{i}", "67", str(8000000 + i))]
    rows.append((f"{UPS}.7.3.0", "2", "3" if on_battery else "1"))
    return rows


def entity() -> list[tuple[str, str, str]]:
    rows = []
    # A stack (class 11) first, the chassis (3) at 1001, a module (9) after: the chassis
    # must be found by class, not by position.
    for idx, cls, serial, model in ((1, 11, "", ""), (1001, 3, "FTX1234A5BC", "EX-R900"),
                                    (1002, 9, "MOD998877", "EX-R900-SUP")):
        rows += [(f"{ENT}.2.{idx}", "4", f"entity {idx}"), (f"{ENT}.5.{idx}", "2", str(cls)),
                 (f"{ENT}.11.{idx}", "4", serial), (f"{ENT}.13.{idx}", "4", model)]
    return rows


APC = "1.3.6.1.4.1.318.1.1.1"          # PowerNet-MIB ups group
SOCOMEC = "1.3.6.1.4.1.4555.1.1.7.1"   # SOCOMECUPS-MIB upsObjects


def apc_ups(*, on_battery: bool) -> list[tuple[str, str, str]]:
    """A Smart-UPS behind an APC card, from PowerNet-MIB. The on-battery one is a newer card
    that also has the high-precision (tenths) objects, whose values differ from the upsAdv*
    ones so a test can tell which was kept; the normal one is an older card without them."""
    rows = [(f"{APC}.1.1.1.0", "4", "Smart-UPS 1500"), (f"{APC}.1.2.3.0", "4", "QS0000000001"),
            (f"{APC}.2.1.1.0", "2", "2"),                               # batteryNormal: 9 min > low
            (f"{APC}.2.1.2.0", "67", "126000" if on_battery else "0"),  # 21 min on battery
            (f"{APC}.2.2.1.0", "66", "35" if on_battery else "100"),
            (f"{APC}.2.2.2.0", "66", "31" if on_battery else "27"),
            (f"{APC}.2.2.3.0", "67", "57000" if on_battery else "270000"),  # 9.5 / 45 min
            (f"{APC}.2.2.4.0", "2", "2" if on_battery else "1"),        # batteryNeedsReplacing
            (f"{APC}.2.2.8.0", "2", "25" if on_battery else "27"),
            (f"{APC}.3.2.1.0", "66", "0" if on_battery else "230"),
            (f"{APC}.3.2.4.0", "66", "0" if on_battery else "50"),
            (f"{APC}.4.1.1.0", "2", "3" if on_battery else "2"),        # onBattery / onLine
            (f"{APC}.4.2.1.0", "66", "230"), (f"{APC}.4.2.3.0", "66", "23" if on_battery else "18"),
            (f"{APC}.4.2.4.0", "66", "2" if on_battery else "1"),
            (f"{APC}.4.2.8.0", "2", "345" if on_battery else "280"),
            (f"{APC}.7.2.3.0", "2", "2" if on_battery else "1")]        # failed / ok
    if on_battery:
        rows += [(f"{APC}.2.3.1.0", "66", "352"), (f"{APC}.2.3.2.0", "66", "312"),
                 (f"{APC}.2.3.4.0", "2", "251"), (f"{APC}.3.3.1.0", "66", "0"),
                 (f"{APC}.3.3.4.0", "66", "0"), (f"{APC}.4.3.1.0", "66", "2298"),
                 (f"{APC}.4.3.3.0", "66", "234"), (f"{APC}.4.3.4.0", "66", "21")]
    return rows


def socomec_ups(*, on_battery: bool) -> list[tuple[str, str, str]]:
    """A NETYS RT behind a NetVision 8 card, from SOCOMECUPS-MIB. On battery its output
    source still says onInverter: the time on battery says where the power comes from."""
    s = SOCOMEC
    rows = [(f"{s}.1.1.0", "4", "NETYS RT 3000"), (f"{s}.1.2.0", "4", "EX00000001"),
            (f"{s}.1.5.0", "4", "Net Vision 8 v8.00"),
            (f"{s}.2.1.0", "2", "5" if on_battery else "3"),    # discharging / charging
            (f"{s}.2.2.0", "2", "1260" if on_battery else "-1"),
            (f"{s}.2.3.0", "2", "4" if on_battery else "65535"),  # computed on battery only
            (f"{s}.2.4.0", "2", "12" if on_battery else "100"),
            (f"{s}.2.5.0", "2", "481" if on_battery else "546"),
            (f"{s}.2.6.0", "2", "310" if on_battery else "0"),  # 0: no battery sensor
            (f"{s}.2.7.0", "2", "250"), (f"{s}.2.8.0", "2", "65535"),
            (f"{s}.3.1.0", "2", "1"), (f"{s}.3.2.0", "2", "0" if on_battery else "500"),
            (f"{s}.3.3.1.1.1", "2", "1"), (f"{s}.3.3.1.2.1", "2", "0" if on_battery else "2300"),
            (f"{s}.3.3.1.3.1", "2", "655350"),
            (f"{s}.4.1.0", "2", "3"),                           # onInverter
            (f"{s}.4.2.0", "2", "500"), (f"{s}.4.3.0", "2", "1"),
            (f"{s}.4.4.1.1.1", "2", "1"), (f"{s}.4.4.1.2.1", "2", "2300"),
            (f"{s}.4.4.1.3.1", "2", "65"), (f"{s}.4.4.1.4.1", "2", "23"),
            (f"{s}.4.4.1.5.1", "2", "15"), (f"{s}.4.4.1.6.1", "2", "12"),
            (f"{s}.6.1.0", "2", "3" if on_battery else "0")]
    active = {14, 15, 19} if on_battery else set()   # LowBattery, OnBattery, BatteryFault
    rows += [(f"{s}.6.3.{n}.0", "2", "1" if n in active else "0") for n in range(1, 63)]
    return rows


def write(name: str, rows: list[tuple[str, str, str]]) -> None:
    rows.sort(key=lambda r: tuple(int(p) for p in r[0].split(".")))
    (HERE / f"{name}.snmprec").write_text("".join(f"{o}|{t}|{v}\n" for o, t, v in rows))


def main() -> None:
    write("switch24", system("ExampleNet EX-2400 24-port switch", "1.3.6.1.4.1.99999.1.24", "sw-24")
          + interfaces(24, down={5, 13, 20}, admin_down={21}))
    write("switch32", system("OldNet 800 8-port switch", "1.3.6.1.4.1.99999.1.8", "sw-old")
          + interfaces(8, down={8}, hc=False))
    write("firewall", system("ExampleWall FW-100", "1.3.6.1.4.1.99999.2.100", "fw-1")
          + interfaces(4) + host_resources(2))
    write("ups-normal", system("ExamplePower EP-3000", "1.3.6.1.4.1.99999.3.1", "ups-1")
          + ups(on_battery=False))
    write("ups-battery", system("ExamplePower EP-3000", "1.3.6.1.4.1.99999.3.1", "ups-2")
          + ups(on_battery=True))
    write("router-entity", system("ExampleNet EX-R900 router", "1.3.6.1.4.1.99999.4.900", "rt-1")
          + interfaces(3) + entity())
    apc_card = "APC Web/SNMP Management Card (example recording)"
    write("apc-ups-normal", system(apc_card, "1.3.6.1.4.1.318.1.3.2.12", "apc-1")
          + apc_ups(on_battery=False))
    write("apc-ups-battery", system(apc_card, "1.3.6.1.4.1.318.1.3.27", "apc-2")
          + apc_ups(on_battery=True))
    write("socomec-ups-normal", system("NetVision-8", "1.3.6.1.4.1.4555.1.1.7", "socomec-1")
          + socomec_ups(on_battery=False))
    write("socomec-ups-battery", system("NetVision-8", "1.3.6.1.4.1.4555.1.1.7", "socomec-2")
          + socomec_ups(on_battery=True))


if __name__ == "__main__":
    main()
