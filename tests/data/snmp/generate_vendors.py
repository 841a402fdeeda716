"""Writes the vendor profiles' .snmprec recordings (FortiGate, Cisco ASA and IOS, Palo
Alto, Check Point, Juniper, Synology, QNAP), each written from its vendor's MIB with
made-up values, no real device's data.

Run from the repository root: `python tests/data/snmp/generate_vendors.py`. The output is
committed; the line format and the shared helpers are generate.py's.
"""
from __future__ import annotations

from generate import HR, interfaces, system, write

Rows = list[tuple[str, str, str]]
FG = "1.3.6.1.4.1.12356.101"                 # FORTINET-FORTIGATE-MIB fnFortiGateMib
CPM = "1.3.6.1.4.1.9.9.109.1.1.1.1"          # CISCO-PROCESS-MIB cpmCPUTotalEntry
CMP = "1.3.6.1.4.1.9.9.48.1.1.1"             # CISCO-MEMORY-POOL-MIB ciscoMemoryPoolEntry
CFW = "1.3.6.1.4.1.9.9.147.1.2"              # CISCO-FIREWALL-MIB cfwSystem
PAN = "1.3.6.1.4.1.25461.2.1.2"              # PAN-COMMON-MIB panSys...
CKP = "1.3.6.1.4.1.2620.1.1.25"              # CHECKPOINT-MIB fwPolicyStat
JNX = "1.3.6.1.4.1.2636.3.1.13.1"            # JUNIPER-MIB jnxOperatingEntry
SYNO = "1.3.6.1.4.1.6574"
QNAP = "1.3.6.1.4.1.24681.1.3"               # NAS-MIB systemInfoEx
UCD_IDLE = "1.3.6.1.4.1.2021.11.11.0"


def storage(rows: list[tuple[int, str, str, int, int, int]]) -> Rows:
    """hrStorageTable rows: (index, hrStorageTypes leaf, descr, unit, size, used)."""
    out: Rows = []
    for idx, kind, descr, unit, size, used in rows:
        out += [(f"{HR}.2.3.1.1.{idx}", "2", str(idx)),
                (f"{HR}.2.3.1.2.{idx}", "6", f"{HR}.2.1.{kind}"),
                (f"{HR}.2.3.1.3.{idx}", "4", descr), (f"{HR}.2.3.1.4.{idx}", "2", str(unit)),
                (f"{HR}.2.3.1.5.{idx}", "2", str(size)), (f"{HR}.2.3.1.6.{idx}", "2", str(used))]
    return out


def linux_host(loads: list[int]) -> Rows:
    """net-snmp on Linux: 4 GiB of RAM of which 3 GiB "used", 1 GiB of it page cache and
    buffers (so 2 GiB really used), a root filesystem, processors, UCD idle."""
    rows = storage([(1, "2", "Physical memory", 1024, 4_194_304, 3_145_728),
                    (6, "1", "Memory buffers", 1024, 4_194_304, 262_144),
                    (7, "1", "Cached memory", 1024, 786_432, 786_432),
                    (31, "4", "/", 4096, 2_500_000, 1_000_000)])
    rows += [(f"{HR}.1.1.0", "67", "12345600"), (UCD_IDLE, "2", "75")]
    rows += [(f"{HR}.3.3.1.2.{196608 + i}", "2", str(v)) for i, v in enumerate(loads)]
    return rows


def fortigate() -> Rows:
    rows = system("FortiGate-200F", "1.3.6.1.4.1.12356.101.1.99200", "fw-hq")
    rows += interfaces(4)
    rows += [(f"{FG}.4.1.1.0", "4", "v7.2.8,build1639,240313 (GA.M)"),
             (f"{FG}.4.1.3.0", "66", "17"),          # fgSysCpuUsage %
             (f"{FG}.4.1.4.0", "66", "43"),          # fgSysMemUsage %
             (f"{FG}.4.1.5.0", "66", "8000000"),     # fgSysMemCapacity KB
             (f"{FG}.4.1.8.0", "66", "52341"),       # fgSysSesCount
             (f"{FG}.13.1.1.0", "2", "3")]           # fgHaSystemMode activePassive
    for i, (serial, name, sync) in enumerate((("FG200FTK00000001", "fw-hq-a", 1),
                                              ("FG200FTK00000002", "fw-hq-b", 0)), start=1):
        rows += [(f"{FG}.13.2.1.1.1.{i}", "2", str(i)), (f"{FG}.13.2.1.1.2.{i}", "4", serial),
                 (f"{FG}.13.2.1.1.11.{i}", "4", name), (f"{FG}.13.2.1.1.12.{i}", "2", str(sync))]
    return rows


def cisco_cpu(loads: list[int]) -> Rows:
    return [row for i, v in enumerate(loads, start=1)
            for row in ((f"{CPM}.2.{i}", "2", "0"), (f"{CPM}.8.{i}", "66", str(v)))]


def cisco_pools(pools: list[tuple[int, str, int, int]]) -> Rows:
    return [row for idx, name, used, free in pools
            for row in ((f"{CMP}.2.{idx}", "4", name), (f"{CMP}.4.{idx}", "2", "1"),
                        (f"{CMP}.5.{idx}", "66", str(used)), (f"{CMP}.6.{idx}", "66", str(free)))]


def cisco_asa() -> Rows:
    rows = system("Cisco Adaptive Security Appliance Version 9.16(4)", "1.3.6.1.4.1.9.1.99555",
                  "asa-edge")
    rows += interfaces(4) + cisco_cpu([12])
    rows += cisco_pools([(1, "System memory", 1_200_000_000, 2_800_000_000),
                         (8, "MEMPOOL_DMA", 100_000_000, 130_000_000)])
    # cfwHardwareStatusTable: netInterface(4), primaryUnit(6), secondaryUnit(7)
    for kind, info, status in ((4, "Failover LAN Interface", 2),
                               (6, "Primary unit (this device)", 9), (7, "Secondary unit", 10)):
        rows += [(f"{CFW}.1.1.1.2.{kind}", "4", info), (f"{CFW}.1.1.1.3.{kind}", "2", str(status))]
    # cfwConnectionStatTable (protoIp(40), currentInUse(6) / high(7))
    rows += [(f"{CFW}.2.2.1.3.40.6", "4", "connections currently in use by the firewall"),
             (f"{CFW}.2.2.1.5.40.6", "66", "3120"), (f"{CFW}.2.2.1.5.40.7", "66", "9876")]
    return rows


def cisco_ios() -> Rows:
    rows = system("Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E9",
                  "1.3.6.1.4.1.9.1.99296", "sw-access-3")
    rows += interfaces(8) + cisco_cpu([9, 15])      # a two-member stack
    rows += cisco_pools([(1, "Processor", 60_000_000, 340_000_000),
                         (2, "I/O", 10_000_000, 20_000_000)])
    return rows


def paloalto() -> Rows:
    rows = system("Palo Alto Networks PA-3220 series firewall", "1.3.6.1.4.1.25461.2.3.99",
                  "pa-dc")
    rows += interfaces(4)
    rows += storage([(1020, "2", "Slot-1 Management Memory", 1024, 16_000_000, 4_000_000),
                     (1042, "4", "Slot-1 Management Root Partition", 1024, 20_000_000, 5_000_000)])
    rows += [(f"{HR}.3.3.1.2.1", "2", "6"), (f"{HR}.3.3.1.2.2", "2", "2")]
    rows += [(f"{PAN}.1.11.0", "4", "active"),                       # panSysHAState
             (f"{PAN}.3.1.0", "2", "12"), (f"{PAN}.3.2.0", "2", "262144"),
             (f"{PAN}.3.3.0", "2", "32768")]
    return rows


def checkpoint() -> Rows:
    rows = system("Linux gw-branch 3.10.0-957.21.3cpx86_64 #1 SMP x86_64",
                  "1.3.6.1.4.1.2620.1.6.123.1.99", "gw-branch")
    rows += interfaces(4) + linux_host([20, 40])
    rows += [(f"{CKP}.3.0", "65", "4321"), (f"{CKP}.4.0", "65", "9000"),   # fwNumConn, peak
             (f"{CKP}.10.0", "65", "25000")]                             # fwConnTableLimit
    return rows


def juniper() -> Rows:
    rows = system("Juniper Networks, Inc. ex4300-48p Ethernet Switch, kernel JUNOS 21.4R3",
                  "1.3.6.1.4.1.2636.1.1.1.2.63", "ex-core")
    rows += interfaces(4)
    # (contents index.L1.L2.L3, descr, state, cpu %, buffer %, memory MB): the chassis, a
    # fan, an FPC (busy, not a routing engine) and the two routing engines.
    for index, descr, state, cpu, buf, mem in (
            ("1.1.0.0", "", 2, 0, 0, 0), ("4.1.1.0", "Fan Tray 0 @ 0/0/*", 2, 0, 0, 0),
            ("7.1.0.0", "FPC: EX4300-48P @ 0/*/*", 2, 40, 55, 1024),
            ("9.1.0.0", "Routing Engine 0", 2, 7, 31, 2048),
            ("9.2.0.0", "Routing Engine 1", 7, 3, 29, 2048)):
        rows += [(f"{JNX}.5.{index}", "4", descr), (f"{JNX}.6.{index}", "2", str(state)),
                 (f"{JNX}.8.{index}", "66", str(cpu)), (f"{JNX}.11.{index}", "66", str(buf)),
                 (f"{JNX}.15.{index}", "2", str(mem))]
    return rows


def synology() -> Rows:
    rows = system("Linux nas-archive 4.4.302+ #72806 SMP x86_64", "1.3.6.1.4.1.8072.3.2.10",
                  "nas-archive")
    rows += interfaces(2) + linux_host([10, 30])
    rows += [(f"{SYNO}.1.1.0", "2", "1"),             # SYNOLOGY-SYSTEM-MIB systemStatus
             (f"{SYNO}.1.5.1.0", "4", "DS920+")]       # modelName
    for i, name, status, total, free in (
            (0, "Volume 1", 1, 7_681_000_000_000, 1_920_250_000_000),
            (1, "Volume 2", 11, 3_840_000_000_000, 3_072_000_000_000)):
        rows += [(f"{SYNO}.3.1.1.1.{i}", "2", str(i)), (f"{SYNO}.3.1.1.2.{i}", "4", name),
                 (f"{SYNO}.3.1.1.3.{i}", "2", str(status)),
                 (f"{SYNO}.3.1.1.4.{i}", "70", str(free)),
                 (f"{SYNO}.3.1.1.5.{i}", "70", str(total))]
    for i, disk, model, status, temp in ((0, "Disk 1", "WD40EFRX-68N32N0", 1, 34),
                                         (1, "Disk 2", "WD40EFRX-68N32N0", 5, 41)):
        rows += [(f"{SYNO}.2.1.1.1.{i}", "2", str(i)), (f"{SYNO}.2.1.1.2.{i}", "4", disk),
                 (f"{SYNO}.2.1.1.3.{i}", "4", model), (f"{SYNO}.2.1.1.4.{i}", "4", "SATA"),
                 (f"{SYNO}.2.1.1.5.{i}", "2", str(status)), (f"{SYNO}.2.1.1.6.{i}", "2", str(temp))]
    return rows


def qnap() -> Rows:
    rows = system("Linux TS-453D 5.10.60-qnap #1 SMP x86_64", "1.3.6.1.4.1.8072.3.2.10", "nas-cctv")
    rows += interfaces(2) + linux_host([50])
    rows += [(f"{QNAP}.1.0", "2", "12"), (f"{QNAP}.12.0", "4", "TS-453D")]   # CPU, modelNameEX
    rows += [(f"{QNAP}.17.1.1.1", "2", "1"), (f"{QNAP}.17.1.2.1", "4", "DataVol1"),
             (f"{QNAP}.17.1.3.1", "4", "EXT4"), (f"{QNAP}.17.1.4.1", "70", "11500000000000"),
             (f"{QNAP}.17.1.5.1", "70", "2300000000000"), (f"{QNAP}.17.1.6.1", "4", "Ready")]
    for i, status, temp, model in ((1, 0, 38, "ST4000VN008-2DR166"),
                                   (2, -9, 45, "ST4000VN008-2DR166"), (3, -5, 0, "--")):
        rows += [(f"{QNAP}.11.1.1.{i}", "2", str(i)), (f"{QNAP}.11.1.2.{i}", "4", f"HDD{i}"),
                 (f"{QNAP}.11.1.3.{i}", "2", str(temp)), (f"{QNAP}.11.1.4.{i}", "2", str(status)),
                 (f"{QNAP}.11.1.5.{i}", "4", model)]
    return rows


def main() -> None:
    for name, rows in (("fortigate", fortigate()), ("cisco-asa", cisco_asa()),
                       ("cisco-ios", cisco_ios()), ("paloalto", paloalto()),
                       ("checkpoint", checkpoint()), ("juniper", juniper()),
                       ("synology", synology()), ("qnap", qnap())):
        write(name, rows)


if __name__ == "__main__":
    main()
