"""Cost: --price or the table of known models; the dry run's estimate; what a run spent, from
the usage of its recorded answers, in the summary and in `refusals`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from recordkit import FAKE_KEY, image_manifest

from ger_replay.cli import main
from ger_replay.errors import InputError
from ger_replay.io import cassettes as cassette_read
from ger_replay.io import rundir
from ger_replay.protocol import datasets
from ger_replay.record import cost
from ger_replay.record.simulator import serve


def test_prices_from_the_table_and_the_option() -> None:
    p = cost.known("gpt-4o")
    assert p is not None and (p.input, p.output) == (2.5, 10.0) and p.source == "table: gpt-4o"
    snap = cost.known("gpt-4o-2024-08-06")
    assert snap is not None and snap.source == "table: gpt-4o"
    mini = cost.known("openai/gpt-4o-mini-2024-07-18")
    assert mini is not None and mini.source == "table: gpt-4o-mini"
    assert cost.known("Qwen/Qwen2.5-VL-7B-Instruct") is None
    assert cost.known("gpt-4ox") is None
    given = cost.parse_price("3, 12.5")
    assert (given.input, given.output, given.source) == (3.0, 12.5, "--price")
    assert given.cost(1_000_000, 100_000) == pytest.approx(3.0 + 1.25)
    for bad in ("3", "a,b", "1,2,3", "-1,2", "inf,1"):
        with pytest.raises(InputError):
            cost.parse_price(bad)
    # every table entry is a pair of non-negative numbers, output at least input
    for name, (a, b) in cost.table().items():
        assert 0 <= a <= b, name


def test_dry_run_estimate_and_recorded_spending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    manifest = image_manifest(tmp_path, 10)
    out = tmp_path / "run"
    args = ["record", "--dataset", "sfew2", "--manifest", str(manifest), "--out", str(out)]
    with serve(manifest, datasets.get("sfew2"), seed=2) as sim:
        args += ["--base-url", sim.url, "--batch-size", "5"]
        dry = CliRunner().invoke(main, [*args, "--dry-run"])
        assert "cost (estimate):   $" in dry.output and "table: gpt-4o" in dry.output
        unknown = CliRunner().invoke(main, [*args, "--model", "llava:13b", "--dry-run"])
        assert "no price known for this model: give --price IN,OUT" in unknown.output
        priced = CliRunner().invoke(main, [*args, "--price", "1000000,0", "--dry-run"])
        tokens = next(x for x in priced.output.splitlines() if x.startswith("tokens"))
        prompt = int(tokens.split(":")[1].split("prompt")[0].replace(",", ""))
        assert f"${prompt:,.2f}" in priced.output  # a dollar a token: the estimate is the count
        res = CliRunner().invoke(main, [*args, "--price", "2,8"])
        assert res.exit_code == 0, res.output
    # spending from the recorded usage
    p = c = 0
    for path in (out / "cassettes").glob("*.json"):
        for resp in cassette_read.read_raw(path)[1]:
            usage = json.loads(resp["body"]["string"])["usage"]
            p, c = p + usage["prompt_tokens"], c + usage["completion_tokens"]
    assert p > 0 and c > 0
    spent = (p * 2 + c * 8) / 1e6
    line = next(x for x in res.output.splitlines() if x.startswith("spent this session"))
    assert f"{p:,} prompt + {c:,} completion tokens = {cost.money(spent)}" in line
    assert rundir.read_meta(out)["price"] == {"input": 2.0, "output": 8.0, "source": "--price"}
    ref = CliRunner().invoke(main, ["refusals", str(out), "--format", "json"])
    assert ref.exit_code == 0, ref.output
    (row,) = json.loads(ref.output)["calls and tokens"]
    assert row["spent_usd"] == pytest.approx(spent) and row["price"].endswith("(--price)")
