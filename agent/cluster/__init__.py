"""Several agents sharing one PostgreSQL (`cluster:` in the config; docs/cluster.md).

    buckets.py   which bucket each device falls in (its dependency tree's root, hashed)
    plan.py      which buckets a node should hold: rendezvous order, fair share (pure)
    leases.py    the lease rows in PostgreSQL: heartbeat, claim, renew, release
    node.py      the node: a thread that keeps its leases and tells the agent what it
                 holds; the alert store's scope and fence
    zones.py     a zone with no live node, told through the outbox
    status.py    what `lifeline cluster CONFIG status` reads

Without `cluster:` none of this is imported: SQLite and the in-process scheduler only.
"""
