"""The evaluating side: what each poll result and the passing of time mean for the alerts,
and which notifications they owe. Decides *what* to tell and *when*; hands the
notifications to a `NotificationSink` (alerts/model.py) in the transaction that changes
the states.

    engine.py        Engine: observe, tick, evaluate_lifecycle, reload; runs each as one
                     transaction over the parts below (orchestration only)
    rules.py         the built-in rules: poll results and lifecycle -> conditions (pure)
    thresholds.py    each device's thresholds: defaults, config, category, device
    state.py         the state machine of one alert (pure transitions, next_event) and
                     LiveStates, the states in memory
    episodes.py      evaluations, timers and endings applied to the live states
    dependencies.py  inhibition: suppressed behind a down parent, held until it is heard
    closures.py      closed sites (opening hours): failures while closed, firing at
                     opening
    silences.py      silence matchers
    gates.py         what may stop a notice now: silenced, suppressed, acked, quiet
    notices.py       the Alert (labels, "N devices behind it") and Notification records
    unmonitored.py   devices no longer watched, whose alerts end
    report.py        alert counts and firing alerts (AlertStatus); read-only listing
    store.py         SQLite persistence: states, outages, silences, acks ("alerts" schema);
                     opened read-only by the commands that only read
"""
