"""HTTP checks (`poll.protocol: http`) for kiosks, CCTV VMS servers and web services.

Public API:
- `collectors.http.collector.HttpCollector(credentials, ...)` and `.from_config(config)`;
  `await collector.collect(device) -> PollResult` (never raises); `await collector.aclose()`.
- `collectors.http.catalogue`: the `http_response` / `kiosk` catalogue entries and
  Telegraf's result codes.

`expect_json` is parsed once, when the configuration is loaded (`config.expectations`);
the collector only checks each document against the parsed expectations.
"""
