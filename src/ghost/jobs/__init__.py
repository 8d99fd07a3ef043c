"""Jobs: one module per job, each composing the stages (sources → map → reduce → write).

A job is a small class with `command`, `run(session) -> result` and `documents(result, target)`;
`runner.JobRun` runs any of them (see jobs/runner.py)."""
