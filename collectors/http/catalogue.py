"""What the HTTP collector emits, and Telegraf's `http_response` result codes."""
from __future__ import annotations

from enum import IntEnum

from collectors.catalogue_entry import ANY_FIELD, Entry, MeasurementTags

MEASUREMENT = "http_response"
KIOSK_MEASUREMENT = "kiosk"


class HttpResult(IntEnum):
    """Telegraf's `result_code` (the `result` tag is the lower-case name)."""

    SUCCESS = 0
    RESPONSE_STRING_MISMATCH = 1
    BODY_READ_ERROR = 2
    CONNECTION_FAILED = 3
    TIMEOUT = 4
    DNS_ERROR = 5
    RESPONSE_STATUS_CODE_MISMATCH = 6

    @property
    def label(self) -> str:
        return self.name.lower()


_CODES = ", ".join(f"{r.value} {r.label}" for r in HttpResult)

ENTRIES: tuple[Entry, ...] = (
    Entry(MEASUREMENT, "response_time", "gauge", "seconds",
          "time from sending the request to the response headers (after redirects)"),
    Entry(MEASUREMENT, "http_response_code", "gauge", "",
          "HTTP status code of the final response (absent when none came)"),
    Entry(MEASUREMENT, "content_length", "gauge", "bytes",
          "body bytes read (at most the 1 MiB cap)"),
    Entry(MEASUREMENT, "result_code", "enum", "", f"Telegraf's result ({_CODES})"),
    Entry(MEASUREMENT, "response_string_match", "gauge", "boolean",
          "1 when expect_text / expect_regex / expect_json all held (only when one is set)"),
    Entry(MEASUREMENT, "response_status_code_match", "gauge", "boolean",
          "1 when the status was one of expect_status"),
    Entry(MEASUREMENT, "cert_expiry_days", "gauge", "days",
          "days until the server certificate's notAfter (negative once expired; https only)"),
    Entry(KIOSK_MEASUREMENT, ANY_FIELD, "gauge", "",
          "with `profile: kiosk`, the numbers of the device's health JSON: nested keys "
          "joined with _ (printer.paper_level -> printer_paper_level), true/false as 1/0, "
          "ISO times as <key>_age_seconds; short strings become tags"),
)
TAGS: MeasurementTags = {MEASUREMENT: ["server", "method", "status_code", "result",
                                       "result_type"],
                         KIOSK_MEASUREMENT: ["(health JSON strings)"]}
