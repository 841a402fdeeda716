"""HTTP checks (`poll.protocol: http`) for kiosks, CCTV VMS servers and web services.

Public API:
- `collectors.http.collector.HttpCollector(credentials, ...)` and `.from_config(config)`;
  `await collector.collect(device) -> PollResult` (never raises); `await collector.aclose()`.
- `collectors.http.expect.parse(text) -> Expectation`, raising `ExpectationError`; used by
  the config schema to validate `expect_json` at load.
- `collectors.http.catalogue`: the `http_response` / `kiosk` catalogue entries and
  Telegraf's result codes.

This package's `__init__` imports nothing, so that loading a configuration (which parses
`expect_json`) does not import `requests`.
"""
