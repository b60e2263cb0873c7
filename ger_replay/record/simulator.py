"""A loopback OpenAI-compatible simulator for tests and demos (see `ger_replay.record.sim`).

    with serve(Path("manifest.csv"), datasets.get("sfew2"), accuracy=0.8, seed=1) as server:
        client = openai.OpenAI(base_url=server.url, api_key="test", max_retries=0)

It answers `POST /v1/chat/completions` right with probability `accuracy` given the ground truth it
finds through the image digests (or the texts) of the manifest, in the answer shapes of
PROTOCOL.md part 8 (or, when the request asks for JSON output, as `{"results": [{"name",
"result"}]}`), and on demand checks a key (401), serves only named models (404), refuses, drops
items, answers 429 above `rpm_limit`, 500s, answers slowly and cuts connections.
Everything is drawn from `seed` and the request.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any

from ger_replay.errors import InputError
from ger_replay.protocol import datasets
from ger_replay.protocol.datasets import Dataset
from ger_replay.record.sim.answers import REFUSAL, SHAPES, Oracle
from ger_replay.record.sim.gate import Gate
from ger_replay.record.sim.index import MediaIndex, build_index
from ger_replay.record.sim.limits import Faults, check_loopback
from ger_replay.record.sim.server import Engine, SimulatorServer

__all__ = [
    "REFUSAL",
    "SHAPES",
    "Faults",
    "MediaIndex",
    "SimulatorServer",
    "run_forever",
    "serve",
]


def serve(
    manifest: Path,
    dataset: Dataset,
    host: str = "127.0.0.1",
    port: int = 0,
    accuracy: float = 0.7,
    seed: int = 0,
    refuse_rate: float = 0.0,
    drop_rate: float = 0.0,
    rpm_limit: float | None = None,
    error_rate: float = 0.0,
    slow_rate: float = 0.0,
    cut_rate: float = 0.0,
    invent_rate: float = 0.0,
    slow_seconds: float = 2.0,
    rpm_burst: int | None = None,
    api_key: str | None = None,
    models: tuple[str, ...] | None = None,
    list_models: bool = True,
) -> SimulatorServer:
    """Starts a simulator in a background thread on a loopback address (port 0: any free
    port). Raises ValueError for a non-loopback host or a rate outside [0, 1], and InputError
    for a bad manifest."""
    check_loopback(host)
    faults = Faults(
        refuse_rate=refuse_rate,
        drop_rate=drop_rate,
        error_rate=error_rate,
        slow_rate=slow_rate,
        cut_rate=cut_rate,
        invent_rate=invent_rate,
        slow_seconds=slow_seconds,
        rpm_limit=rpm_limit,
        rpm_burst=rpm_burst,
    )
    engine = Engine(
        dataset=dataset,
        index=build_index(Path(manifest), dataset),
        oracle=Oracle(dataset, accuracy),
        faults=faults,
        seed=seed,
        gate=Gate(api_key, tuple(models) if models is not None else None, list_models),
    )
    return SimulatorServer(engine, host, port)


def run_forever(manifest: Path, dataset: str, **options: Any) -> None:
    """Serves until interrupted (Ctrl-C or SIGTERM), announcing the base URL on stderr."""
    try:
        ds = datasets.get(dataset)
    except datasets.UnknownDataset as e:
        raise InputError(str(e)) from None
    stop = threading.Event()
    with serve(Path(manifest), ds, **options) as server:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        n = len(server.engine.index.samples)
        print(f"simulating {ds.key} ({n} samples) at {server.url}", file=sys.stderr, flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        print(f"stopped; {server.stats}", file=sys.stderr, flush=True)
