"""System: what every layer may use and that knows nothing of tasks or models.

The `autolog` logger and its one guard for internal errors (`log`), path safety and file modes (`paths`),
secret redaction (`redact`), the host name, run information and process liveness (`host`, `runinfo`,
`liveness`), the background worker thread (`worker`) and the timing of the user's saves that background
work stays out of (`bursts`). The lowest layer: it imports nothing else of autolog but `errors`.
"""
