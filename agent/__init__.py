"""The runtime: `lifeline run` and the commands around it. One module per job:

    daemon          Agent: wires the parts below; starts and stops them in order; signals
    jobs            JobScheduler: one timer on the loop (each device's runs, periodic jobs)
    schedule        when each device is polled: phase, jitter, what a reload changes
    polling         PollRunner: one poll with its deadline, its result handed on; StartLag
    lateness        Lateness: polls started late over the last minute (falling behind)
    collector_set   the collectors a configuration needs, one per protocol
    device_states   each polled device's running record (DeviceState, DeviceStates)
    writer          SinkWriter: the one thread that writes to the sink (group commit)
    alerting        AlertCalls (the loop's calls into alerts) and DeliveryThread
    reload          Reloader: SIGHUP, a new configuration taken or refused
    reporter        StatusReporter: the status taken every few seconds and written
    status          AgentStatus and its records; status.json written and read back
    endpoint        /healthz and /metrics, rendered from AgentStatus
    notify          ServiceManager: READY, WATCHDOG, STATUS, STOPPING to systemd's socket
    logs            plain or JSON log lines carrying the device id
    _json_fields    typed values read back from JSON, errors naming where they are

and the sinks (`sinks/`), the command line (`cli/`) and the demo lab (`demo/`).
"""
