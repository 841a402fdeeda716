"""Failures of one SNMP exchange, each carrying the result code it maps to.

Messages never contain a community or a key: they name the device address and what
happened, so they can be logged and stored as they are.
"""
from __future__ import annotations

from collectors.base import ResultCode


class SnmpError(Exception):
    """One request failed. `code` is what a poll reports if nothing else answered."""

    code = ResultCode.BAD_RESPONSE


class SnmpTimeoutError(SnmpError):
    code = ResultCode.TIMEOUT


class PollBudgetSpentError(SnmpTimeoutError):
    """The poll's own time ran out while a request waited: says nothing about the
    device, which may have answered every request before this one."""


class SnmpAuthError(SnmpError):
    code = ResultCode.AUTH_FAILURE


class SnmpConnectionError(SnmpError):
    code = ResultCode.CONNECTION_ERROR


class SnmpConfigError(SnmpError):
    code = ResultCode.CONFIG_ERROR


class SnmpResponseError(SnmpError):
    """The agent answered with a non-zero error-status (RFC 3416)."""

    code = ResultCode.BAD_RESPONSE

    def __init__(self, status: int, index: int, address: str) -> None:
        name = ERROR_STATUS.get(status, f"error-status {status}")
        super().__init__(f"{address} answered {name} (varbind {index})")
        self.status = status
        self.index = index


ERROR_STATUS = {
    1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr",
    6: "noAccess", 7: "wrongType", 8: "wrongLength", 9: "wrongEncoding", 10: "wrongValue",
    11: "noCreation", 12: "inconsistentValue", 13: "resourceUnavailable",
    14: "commitFailed", 15: "undoFailed", 16: "authorizationError", 17: "notWritable",
    18: "inconsistentName",
}
TOO_BIG = 1
NO_SUCH_NAME = 2
