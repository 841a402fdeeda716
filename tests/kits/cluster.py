"""A cluster node for the tests: `lifeline run` with a `cluster:` section and every alert
routed to one webhook (the bench's nodes are configured the same way)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peers.agent import AgentProcess, agent_config
from peers.postgres import lease_holders, query
from peers.webhook import WebhookPeer

DSN_ENV = "LL_TEST_PG_DSN"


def start_node(directory: Path, devices_yaml: str, *, dsn: str, hook_url: str,
               cluster_yaml: str, outage_polls: int) -> AgentProcess:
    """`cluster_yaml`: the keys of `cluster:` beyond the DSN's, as YAML flow items
    ("node: a, lease: 6s")."""
    alerts = (f"alerts:\n  thresholds: {{outage_polls: {outage_polls}}}\n  channels:\n"
              f"    - {{name: hook, type: webhook, url: \"{hook_url}\", "
              "group_wait: 0s, group_interval: 0s, retry_initial: 1s}\n"
              "  routes:\n    - {match: {}, channels: [hook]}\n")
    cluster = f"cluster: {{dsn_env: {DSN_ENV}, {cluster_yaml}}}\n"
    config = agent_config(directory, devices_yaml, top_extra=cluster + alerts)
    return AgentProcess(config, env={DSN_ENV: dsn}).start()


@dataclass
class Nodes:
    """A test's cluster: its database, its nodes by name, the webhook they tell."""

    dsn: str
    root: Path
    devices: str
    hook: WebhookPeer
    nodes: dict[str, AgentProcess] = field(default_factory=dict)

    def query(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        return query(self.dsn, sql, *args)

    def owners(self) -> dict[str, str | None]:
        """bucket -> its holder while the lease runs (buckets with devices)."""
        return lease_holders(self.dsn, with_devices=True)

    def live(self) -> list[str]:
        return [n for n, p in self.nodes.items() if p.proc and p.proc.poll() is None]

    def settled(self) -> dict[str, str] | None:
        """The owners once every bucket is held by a running node, else None."""
        owners = self.owners()
        live = self.live()
        if owners and all(o in live for o in owners.values()):
            return {b: o for b, o in owners.items() if o is not None}
        return None

    def blocked_by(self, pid: int) -> bool:
        """Whether a session waits on a lock the backend `pid` holds."""
        return waiting_on(self.dsn, pid)

    def notices(self) -> list[tuple[str, str, str]]:
        """(notificationId, device, event) of every alert the hook accepted, in order."""
        return [(a["notificationId"], a["labels"]["device_id"], a["event"])
                for r in self.hook.accepted for a in r.body["alerts"]]


def waiting_on(dsn: str, pid: int) -> bool:
    """Whether a session of the database waits on a lock the backend `pid` holds (a
    statement of a node's held at a known point by a transaction of the test's)."""
    return bool(query(dsn, "SELECT 1 FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                      pid))
