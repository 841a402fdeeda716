"""Alerting: judging poll results and telling people, in two sides that meet in one
documented module, as Prometheus Alertmanager keeps dispatch, inhibit, silence and notify
apart.

    model.py       the records crossing between the sides and out of the package: Alert,
                   Notification, Severity, DeliveryError, the Channel, RefreshingChannel
                   and NotificationSink protocols, AlertStatus and its parts, Clock
    evaluation/    the evaluating side: rules -> alert states -> notifications (what to
                   tell, and when), with dependencies, opening hours, silences and acks
    delivery/      the delivering side: routing, grouping, the outbox and the channels
                   (where to tell, at least once, never a recovery lost)
    service.py     AlertService, the facade the agent calls: both sides wired on one
                   `state_dir/alerts.db`

The evaluating side hands `Notification`s to a `NotificationSink` (the outbox) inside its
own transaction; nothing else crosses between the sides.
"""
