"""What the console reads of the running agent (`AgentView`): its configuration as it is
now (a reload replaces it), its last status snapshot, whether it is stopping, and the
alert store in its state_dir, opened on the console's own read-only connection for each
request (SQLite WAL: the agent writes on, the page reads a consistent view)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent.status import AgentStatus
from alerts.evaluation.store import DB_NAME, Store
from inventory.model import Config


@dataclass(frozen=True, slots=True)
class AgentView:
    config: Callable[[], Config]
    status: Callable[[], AgentStatus | None]
    stopping: Callable[[], bool]
    clock: Callable[[], datetime]       # now, in the agent's time zone

    @property
    def alerts_db(self) -> Path:
        return Path(self.config().agent.state_dir) / DB_NAME

    @contextmanager
    def alert_store(self) -> Iterator[Store | None]:
        """The alert store to read; None when there is none yet."""
        store = Store.read_only(self.alerts_db)
        try:
            yield store
        finally:
            if store is not None:
                store.close()
