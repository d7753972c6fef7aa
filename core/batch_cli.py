"""``batch``: screen time of many videos at once (a series, an archive), on Ray.

    python -m core batch PATH... --model MODEL_DIR --out OUT_DIR [--every S] [--workers N] [--address ADDR]
    python -m core batch PATH... --faces [--people PEOPLE.json | --ref "Name=photo.jpg" ...] --out OUT_DIR

PATH is a video or a folder (searched recursively). OUT_DIR/<video>/ holds what ``predict`` (or ``faces``)
writes for that video; OUT_DIR/summary.csv and summary.json the whole series. A rerun skips every video whose
results are current. A video that fails is one line on stderr; the others finish; the exit code is then 1.
Without --address a local Ray starts on this machine; with it, the batch joins that cluster.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config
from .cli import duration_arg, every_arg, positive_arg, whole_arg

if TYPE_CHECKING:  # imported in run(): registering the command must not load Ray, tqdm or the engine
    from .batch import BatchResult, VideoOutcome

#: Exit code when the batch ran but at least one video failed (2 stays "the command could not run").
EXIT_SOME_FAILED = 1


def _ref(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name.strip() or not path.strip():
        raise argparse.ArgumentTypeError(f"--ref wants Name=photo.jpg, got {text!r}")
    return name.strip(), Path(path.strip())


_count = whole_arg("", "it must be 1 or more")


def register(subparsers: Any) -> None:
    """Add the ``batch`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser("batch", help="screen time of many videos (a series, an archive), on Ray",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="video files or folders of videos")
    p.add_argument("--out", type=Path, required=True, metavar="OUT_DIR", help="folder for the results")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", type=Path, metavar="MODEL_DIR", help="a model saved by train or analyze")
    what.add_argument("--faces", action="store_true", help="find people by their faces instead")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--people", type=Path, metavar="PEOPLE.json", help="(--faces) a people book naming people")
    who.add_argument("--ref", type=_ref, action="append", default=[], metavar="NAME=PHOTO",
                     help="(--faces) a reference photo that names the matching person (repeatable)")
    p.add_argument("--detector", default=None, help="(--faces) face detector, as for the faces command")
    p.add_argument("--threshold", type=positive_arg, default=None, help="(--faces) grouping distance")
    p.add_argument("--every", type=every_arg, default=None, metavar="S",
                   help="seconds between sampled moments (default: the model's own, 1 for --faces)")
    p.add_argument("--typical-run", type=duration_arg, default=None, metavar="S",
                   help=f"smoothing, as for predict (default {config.TYPICAL_RUN_S}; 0 with --faces)")
    p.add_argument("--bridge-gaps", type=duration_arg, default=None, metavar="S",
                   help="bridge gaps shorter than S seconds (default as for predict or faces)")
    p.add_argument("--min-appearance", type=duration_arg, default=None, metavar="S",
                   help="ignore appearances shorter than S seconds (default as for predict or faces)")
    p.add_argument("--workers", type=_count, default=None, metavar="N",
                   help="most videos at once (default: the cores of the machine or cluster / --threads)")
    p.add_argument("--threads", type=_count, default=config.BATCH_THREADS_PER_TASK, metavar="T",
                   help="cores per video (default %(default)s, measured: docs/scale.md)")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="join the Ray cluster whose head is at ADDR (host:port); default: a local Ray")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _settings(args: argparse.Namespace) -> Any:
    from .batch import BatchSettings
    from .smoothing import Smoothing

    if args.faces:
        from .faces import config as faces_config

        base = Smoothing(faces_config.SMOOTHING.bridge_gaps_s, faces_config.SMOOTHING.min_appearance_s, 0.0)
    else:
        base = Smoothing(config.BRIDGE_GAPS_S, config.MIN_APPEARANCE_S, config.TYPICAL_RUN_S)
    smoothing = Smoothing(base.bridge_gaps_s if args.bridge_gaps is None else args.bridge_gaps,
                          base.min_appearance_s if args.min_appearance is None else args.min_appearance,
                          base.typical_run_s if args.typical_run is None else args.typical_run)
    return BatchSettings("faces" if args.faces else "characters", args.model, args.every, smoothing, args.people,
                         tuple(args.ref), args.detector, args.threshold)


class _Bar:
    """The whole batch on one tqdm bar: moments done, moments per second, time left; videos in the postfix."""

    def __init__(self, quiet: bool) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=0, unit="moment", file=sys.stderr, disable=True if quiet else None,
                        dynamic_ncols=True, desc="batch")
        self.videos = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage == "videos":
            self.videos = f"{done}/{total} videos"
            self.bar.set_postfix_str(self.videos)
        elif stage == "moments":
            if self.bar.total != total:
                self.bar.total = total
            if done > self.bar.n:
                self.bar.update(done - self.bar.n)  # tqdm's rate and time left follow its updates

    def say(self, line: str) -> None:
        self.bar.write(line, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()


def _report(res: BatchResult, out: Path) -> str:
    e = res.engine
    nodes = e.get("nodes") or []
    lines = [f"{res.count('done')} done, {res.count('skipped')} skipped (current), {res.count('failed')} failed; "
             f"results in {out}/ (summary.csv, summary.json)."]
    if nodes:
        lines.append(f"Ray ({e.get('address')}): {len(nodes)} node(s) with "
                     f"{', '.join(str(n['cpus']) for n in nodes)} CPU(s), {e.get('workers')} video(s) at once, "
                     f"{e.get('threads_per_task')} thread(s) each.")
    for t in res.totals:
        lines.append(f"  {t.character:<20} {t.mmss:>9}  {t.percent:5.1f}%  {t.appearances} appearance(s)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the ``batch`` command (errors are raised; :func:`core.cli.main` prints them)."""
    from .batch import RayEngine, load_plugins, run_batch

    load_plugins()  # a wrong SCREENTIME_PLUGINS is one sentence before Ray starts
    bar = _Bar(args.quiet)

    def said(o: VideoOutcome) -> None:
        if o.status == "failed":
            bar.say(f"{o.path}: {' '.join(str(o.reason).split())}")

    try:
        res = run_batch(args.paths, args.out, _settings(args), RayEngine(args.address, args.workers, args.threads),
                        progress=bar, on_outcome=said)
    finally:
        bar.close()
    print(_report(res, Path(args.out)))
    return EXIT_SOME_FAILED if res.failed else 0

