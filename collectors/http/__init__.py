"""HTTP checks (`poll.protocol: http`) for kiosks, CCTV VMS servers and web services.

Public API:
- `collectors.http.collector.HttpCollector(credentials, ...)` and `.from_config(config)`,
  a `collectors.base.Collector`.
- `collectors.http.catalogue`: the `http_response` / `kiosk` catalogue entries and
  Telegraf's result codes.

`expect_json` is parsed once, when the configuration is loaded (`config.expectations`);
the collector only checks each document against the parsed expectations.
"""
