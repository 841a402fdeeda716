"""Wiring: the command line, the scheduler, sinks and the daemon."""
