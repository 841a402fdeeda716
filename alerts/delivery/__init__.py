"""The delivering side: where each notification goes, and that it gets there. Takes the
evaluating side's `Notification`s (alerts/model.py) and delivers each to every routed
channel at least once, grouped, retried with backoff until delivered, failed for good, or
expired; a duplicate after a crash is recognisable, a recovery never lost.

    outbox.py      Outbox: the NotificationSink and delivery rounds, wiring the parts
                   below; its tables ("outbox" schema in alerts.db)
    routing.py     which channels hear about an alert, and its group there
    dispatch.py    enqueueing: rows per routed channel, grouped, with the time each is due
    timing.py      each channel's group_wait, group_interval, retry and expiry
    ledger.py      the rows' states: claim (OutboxRow, OutboxBatch), delivered/retry/
                   failed, expiry, recovery of sends abandoned by a crash, pruning,
                   per-channel counters
    send.py        one Channel.send per batch, and its outcome
    workers.py     a worker thread per channel, so a slow one holds up no other
    keepalive.py   firing alerts re-posted to Alertmanager every refresh_interval
    stats.py       each channel's delivery figures (ChannelStats)
    codec.py       notifications as JSON, as the outbox keeps them
    render.py      alert text in Korean and English
    channels/      one module per receiver kind: webhook, email, Alertmanager, log
"""
