"""Lifeline: inventory, service life and replacement planning."""
