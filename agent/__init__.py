"""The runtime: the scheduler and its jobs, reload, status, the agent's endpoint, the
sinks (`sinks/`), the command line (`cli/`) and the demo lab (`demo/`)."""
