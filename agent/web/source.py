"""What the console reads of the running agent (`AgentView`): its configuration as it is
now (a reload replaces it), its last status snapshot, whether it is stopping, and the
alert store that configuration uses (alerts/evaluation/open_store.py: `state_dir/alerts.db`,
or with `cluster:` the cluster's PostgreSQL, every node's alerts), opened on the
console's own connection for each request (SQLite WAL: the agent writes on, the page
reads a consistent view)."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent.status import AgentStatus
from alerts.evaluation.open_store import alerts_db, changing, reading
from alerts.evaluation.store_api import AlertStore
from inventory.model import Config

CLIENT = "console"      # the PostgreSQL session's application_name says it


@dataclass(frozen=True, slots=True)
class AgentView:
    config: Callable[[], Config]
    status: Callable[[], AgentStatus | None]
    stopping: Callable[[], bool]
    clock: Callable[[], datetime]       # now, in the agent's time zone

    @property
    def alerts_db(self) -> Path:
        """The single agent's `state_dir/alerts.db` (its outbox: delivery metrics)."""
        return alerts_db(self.config())

    def alert_store(self) -> AbstractContextManager[AlertStore | None]:
        """The alert store to read; None when there is none yet. Raises
        AlertStoreUnavailableError (app.py answers it)."""
        return reading(self.config(), CLIENT)

    def alert_store_for_changes(self) -> AbstractContextManager[AlertStore]:
        """The alert store to record an ack, silence or unsilence in. Raises
        AlertStoreUnavailableError."""
        return changing(self.config(), CLIENT)
