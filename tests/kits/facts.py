"""The typed facts of a poll result, asserted to be of the kind the test expects."""
from __future__ import annotations

from collectors.base import HttpFacts, PollResult, SnmpFacts


def snmp_facts(result: PollResult) -> SnmpFacts:
    assert isinstance(result.facts, SnmpFacts), result
    return result.facts


def http_facts(result: PollResult) -> HttpFacts:
    assert isinstance(result.facts, HttpFacts), result
    return result.facts
