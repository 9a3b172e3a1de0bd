"""Pre- and post-filter throughput on .jsonl input, and peak memory at 50k vs 200k items.

Each measurement runs in a fresh process so that its peak RSS is its own.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson

from benchmarks.common import postfiltered_record, raw_record, timed

ROOT = Path(__file__).resolve().parents[1]


def write_jsonl(path: Path, records) -> None:
    with path.open("wb") as handle:
        for record in records:
            handle.write(orjson.dumps(record) + b"\n")


def measure(stage: str, source: Path, output: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one `ilid <stage>` run in its own process."""
    code = (
        "import resource, sys\n"
        "from pipeline.cli import main\n"
        f"sys.argv = ['ilid', {stage!r}, '-i', {str(source)!r}, '-o', {str(output)!r}]\n"
        # click ends with SystemExit(0) on success: only that one goes on to the peak RSS
        "try:\n    main()\nexcept SystemExit as end:\n    if end.code not in (None, 0):\n        raise\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    seconds, done = timed(
        lambda: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    )
    if done.returncode != 0:
        raise SystemExit(f"ilid {stage} failed (exit {done.returncode}), not timed:\n{done.stderr[-2000:]}")
    return seconds, int(done.stdout.split()[-1]) / 1024


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="ilid-bench-filters-"))
    rng = random.Random(0)
    results = {}
    for count in (50_000, 200_000):
        raw_path = work / f"raw_{count}.jsonl"
        labeled_path = work / f"labeled_{count}.jsonl"
        write_jsonl(raw_path, (raw_record(i, rng) for i in range(count)))
        write_jsonl(labeled_path, (postfiltered_record(i, rng) for i in range(count)))
        for stage, source in (("prefilter", raw_path), ("postfilter", labeled_path)):
            seconds, peak = measure(stage, source, work / f"{stage}_{count}.jsonl")
            results[stage, count] = (seconds, peak)
            print(f"{stage} {count:>7,} items: {count / seconds:>8,.0f} items/s, peak RSS {peak:6.1f} MiB")
    for stage in ("prefilter", "postfilter"):
        small, large = results[stage, 50_000][1], results[stage, 200_000][1]
        print(f"{stage}: peak RSS 200k / 50k = {large / small:.2f} (4x the input)")
    for path in work.iterdir():
        path.unlink()
    work.rmdir()


if __name__ == "__main__":
    main()
