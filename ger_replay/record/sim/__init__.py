"""The loopback simulator's parts: the media index (digest -> sample), the answers it writes,
and the HTTP server with its faults. `ger_replay.record.simulator.serve` starts one."""
