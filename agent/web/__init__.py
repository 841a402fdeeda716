"""The web console and its JSON API, served by the agent itself on `agent.http_listen`.

An ASGI app (Starlette) run by uvicorn inside the agent's own asyncio loop
(`server.ConsoleServer`), which also answers `/healthz` and `/metrics` (agent/endpoint.py).
Pages are jinja2 templates with autoescaping (device text is hostile); a little plain
JavaScript (static/board.js) refreshes the board from `/api/v1/board`. What each page
shows is built as typed records by one module per page, from what the agent shows of
itself (`source.AgentView`: the running config, the status snapshot, the alert store the
config uses and the state_dir's metrics, read on their own connections), so a page never
touches the polling loop's structures:

    board.py            what is down or degraded now, by site, kiosks open or closed
    device_page.py      one device: inventory vs what it says, polls, alerts, charts
    charts.py           a device's key series from the embedded store, as inline SVG
    alert_list.py       alerts with filters, silences, outage history and availability
    lifecycle_page.py   what passes its service life or support soon; the plan
    actions.py          ack, silence, unsilence: the store calls `lifeline alerts` makes
    handling.py         what the routes share: the view, a query's number, a change

Who may see and change what: users.py (the users file, argon2), sessions.py, limiter.py
(login attempts), csrf.py, access.py (who is asking, and the gate in front of every
route). pages.py and api.py are the routes; app.py wires them; words.py holds the
console's Korean and English. The whole reference: docs/console.md.
"""
