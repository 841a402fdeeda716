"""Alerting: rules, the alert state machine, its store and channels."""
