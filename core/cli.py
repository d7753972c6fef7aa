"""The command line: ``python -m core COMMAND ...``. Every page of the dashboard has a command here.

Errors are one sentence on stderr and a non-zero exit code; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Optional

from . import config
from ._version import __version__
from .errors import ScreenTimeError
from .smoothing import Smoothing

EXIT_ERROR = 2
#: Exit code after SIGTERM (128 + 15, as a shell reports a process it ended).
EXIT_TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that every ``finally`` runs (temporary folders are removed)."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


class _TerminalProgress:
    """Progress on stderr: one rewritten line on a terminal, nothing when piped (so logs stay clean)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.start = time.monotonic()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        pct = f"{100 * done / total:5.1f}%" if total else ""
        sys.stderr.write(f"\r{stage:<16} {done:>6}/{total:<6} {pct} {time.monotonic() - self.start:6.1f} s")
        if total and done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def every_arg(text: str) -> float:
    """``--every``: seconds between sampled moments, within the bounds the dashboard offers."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not config.EVERY_MIN_S <= value <= config.EVERY_MAX_S:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"choose a step between {config.EVERY_MIN_S:g} and "
                                         f"{config.EVERY_MAX_S:g} seconds, not {text}")
    return value


#: Seconds: the longest smoothing duration accepted (a day). Longer ones mean nothing for a video, and 1e308
#: made the two-state model call every moment absent.
MAX_DURATION_S = 86_400.0


def duration_arg(text: str) -> float:
    """A smoothing duration: zero or more seconds, at most :data:`MAX_DURATION_S`."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= MAX_DURATION_S:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"a duration is 0 to {MAX_DURATION_S:g} seconds (a day), not {text}")
    return value


def positive_arg(text: str) -> float:
    """A positive, finite number (a distance threshold)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"it must be a positive number, not {text}")
    return value


def _smoothing(args: argparse.Namespace) -> Smoothing:
    return Smoothing(args.bridge_gaps, args.min_appearance, args.typical_run)


def _summary(result: Any, out: Path) -> str:
    lines = [f"Results in {out}/ (timeline.csv, screen_time.csv, segments.csv, report.json, screen_time.srt)"]
    for ct in result.timeline.screen_time():
        lines.append(f"  {ct.character:<20} {ct.mmss:>8}  {ct.percent:5.1f}%  {ct.appearances} appearance(s)")
    return "\n".join(lines)


def cmd_train(args: argparse.Namespace) -> int:
    from .jobs import train

    res = train(args.video, args.labels, args.model, args.every, args.weights, args.kind,
                progress=_TerminalProgress(not args.quiet), backbone=args.backbone)
    clf = res.classifier
    mirrored = f" and their {res.n_mirrored} mirror images" if res.n_mirrored else ""
    print(f"Model ({clf.kind_}) saved in {res.model_dir}, trained on {res.n_labelled} labelled moments{mirrored}.")
    for note in res.not_mirrored:
        print(f"  {note}")
    for s in clf.cv_scores_.values():
        print(f"  {s.character:<20} precision {s.precision:.2f}  recall {s.recall:.2f}  F1 {s.f1:.2f}"
              f"   ({s.in_words()})")
    if not clf.cv_scores_:
        print("  Too few labelled stretches of time to validate: label moments spread over the video.")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from .jobs import predict

    res = predict(args.video, args.model, args.out, args.every, _smoothing(args),
                  progress=_TerminalProgress(not args.quiet))
    print(_summary(res, Path(args.out)))
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from .jobs import analyze

    res = analyze(args.video, args.labels, args.out, args.every, args.weights, _smoothing(args), args.kind,
                  progress=_TerminalProgress(not args.quiet), backbone=args.backbone)
    print(_summary(res, Path(args.out)))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_files, format_table

    print(format_table(evaluate_files(args.pred, args.truth)))
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from .video import probe_video, shown

    info = probe_video(args.video)
    print(f"{shown(info.path.name)}: {info.width}x{info.height}, {info.fps} fps ({float(info.fps):.3f}), "
          f"{info.frame_count} frames, {info.duration_s:.2f} s")
    return 0


def whole_arg(unit: str, too_few: str) -> Callable[[str], int]:
    """An argparse type for a whole number from 1; its messages name the ``unit`` (" of moments") and say what
    to ask for instead of a number below 1 (``too_few``)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number{unit}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{too_few}, not {text}")
        return value

    return parse


#: A number of moments to check.
count_arg = whole_arg(" of moments", "ask for at least 1 moment (30 to 60 is usual)")


def cmd_spotcheck_make(args: argparse.Namespace) -> int:
    from .spotcheck import make_check

    path, sample = make_check(args.results, args.n, args.seed, args.labels, args.to)
    print(f"Check file: {path} ({len(sample.times)} moments drawn at random among the unlabelled ones, "
          f"{len(sample.names)} character{'s' if len(sample.names) != 1 else ''}).")
    print("  Look at each moment of the video and write yes or no in the answer column. The rows are in random "
          "order: answer from the top, and any first rows are a fair sample.")
    print(f"  Then: python -m core spotcheck read {args.results}" + (f" {args.to}" if args.to else ""))
    return 0


def cmd_spotcheck_read(args: argparse.Namespace) -> int:
    from .spotcheck import read_check
    from .timeline import mmss

    res = read_check(args.results, args.check)
    print(f"Spot check of {args.results} ({res.unlabelled} unlabelled moments; 95 % intervals):")
    for c in res.characters:
        print(f"  {c.sentence()}  (the model says {mmss(c.predicted_s)})")
        if c.enough and c.precision.value is not None:
            print(f"    precision {c.precision.value:.2f} ({c.precision.low:.2f}-{c.precision.high:.2f})", end="")
            if c.recall.value is not None:
                print(f", recall {c.recall.value:.2f} ({c.recall.low:.2f}-{c.recall.high:.2f})", end="")
            print()
    print(f"Written into {Path(args.results) / 'report.json'} (spot_check).")
    return 0


def _add_spotcheck(sub: Any) -> None:
    p = sub.add_parser("spotcheck", help="check a result at random moments: a check file out, intervals in")
    spot = p.add_subparsers(dest="spot_command", required=True, metavar="make|read")
    m = spot.add_parser("make", help="write a check file of random unlabelled moments of a results folder")
    m.add_argument("results", metavar="OUT_DIR", help="the --out folder of predict or analyze")
    m.add_argument("--n", type=count_arg, default=config.SPOT_CHECK_MOMENTS, metavar="N",
                   help="moments to check (default: %(default)s)")
    m.add_argument("--seed", type=int, default=0, help="the same seed draws the same moments (default: 0)")
    m.add_argument("--labels", default=None, metavar="LABELS_CSV",
                   help="the labels the model learned from, if from this video: those moments are left out")
    m.add_argument("--to", default=None, metavar="CHECK_CSV", help="where to write it (default: OUT_DIR/spotcheck.csv)")
    m.set_defaults(func=cmd_spotcheck_make)
    r = spot.add_parser("read", help="read a filled check file: precision, recall and minutes with intervals")
    r.add_argument("results", metavar="OUT_DIR")
    r.add_argument("check", nargs="?", default=None, metavar="CHECK_CSV",
                   help="the filled check file (default: OUT_DIR/spotcheck.csv)")
    r.set_defaults(func=cmd_spotcheck_read)


def cmd_where(args: argparse.Namespace) -> int:
    from .where import where_image

    names, wm, image = where_image(args.video, args.model, args.at, args.character, args.out,
                                   progress=_TerminalProgress(not args.quiet))
    h, w = image.shape[:2]
    print(f"Where the model sees {', '.join(names)} at {args.at:g} s: {args.out}")
    for n in wm.names:
        x0, y0, x1, y1 = wm.box(n)
        print(f"  {n:<20} {wm.prob(n):4.0%}  peak box x {x0 * w:.0f}-{x1 * w:.0f}, y {y0 * h:.0f}-{y1 * h:.0f} px"
              + ("" if n in names else "  (not drawn)"))
    return 0


def _add_common(p: argparse.ArgumentParser, every_default: Optional[float] = config.EVERY_S) -> None:
    p.add_argument("--every", type=every_arg, default=every_default, metavar="S",
                   help="seconds between sampled moments (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress line on the terminal")


def _add_smoothing(p: argparse.ArgumentParser) -> None:
    p.add_argument("--typical-run", type=duration_arg, default=config.TYPICAL_RUN_S, metavar="S",
                   help="how long a character typically stays on or off screen; unsure moments follow their "
                        f"neighbours accordingly (0: off, the default; {config.FOLLOW_RUN_S:g} is a good value)")
    p.add_argument("--bridge-gaps", type=duration_arg, default=config.BRIDGE_GAPS_S, metavar="S",
                   help="bridge gaps shorter than S seconds (default: %(default)s)")
    p.add_argument("--min-appearance", type=duration_arg, default=config.MIN_APPEARANCE_S, metavar="S",
                   help="ignore appearances shorter than S seconds (default: %(default)s)")


def _add_model_choice(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backbone", default=config.BACKBONE, metavar="NAME",
                   help="feature network: efflite0 (EfficientNet-Lite0, ImageNet weights) or vgg16 (the tutorial's; "
                        "offline, weights fine-tuned for edges) (default: %(default)s)")
    p.add_argument("--weights", choices=["auto", "imagenet", "hed"], default=None,
                   help="VGG16 weights: ImageNet when available, else the HED backbone (default: auto)")
    p.add_argument("--kind", choices=["auto", "dense", "linear", "spatial"], default=None,
                   help="classifier (default: the one the features call for: spatial on efflite0's cell features, "
                        f"{config.CLASSIFIER_KIND} on pooled ones such as vgg16's); auto keeps whichever of dense "
                        "and linear validates better")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core",
                                     description="Screen Time: who is on screen, and for how long.")
    parser.add_argument("--version", action="version", version=f"screentime {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train a model on the labelled moments of a video")
    p.add_argument("video")
    p.add_argument("--labels", required=True, help="CSV: time_s,Name1,Name2,... (0/1) or time_s,label")
    p.add_argument("--model", required=True, metavar="MODEL_DIR")
    _add_common(p)
    _add_model_choice(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="screen time of every character a model knows, in a video")
    p.add_argument("video")
    p.add_argument("--model", required=True, metavar="MODEL_DIR")
    p.add_argument("--out", required=True, metavar="OUT_DIR")
    _add_common(p, every_default=None)
    _add_smoothing(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("analyze", help="train on a video's labels and predict the whole video")
    p.add_argument("video")
    p.add_argument("--labels", required=True)
    p.add_argument("--out", required=True, metavar="OUT_DIR")
    _add_common(p)
    _add_model_choice(p)
    _add_smoothing(p)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("evaluate", help="compare a timeline.csv with per-second truth")
    p.add_argument("--pred", required=True, metavar="TIMELINE_CSV")
    p.add_argument("--truth", required=True, metavar="TRUTH_CSV")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("where", help="draw where in a frame a model sees each character (a heat map and a box)")
    p.add_argument("video")
    p.add_argument("--model", required=True, metavar="MODEL_DIR")
    p.add_argument("--at", required=True, type=duration_arg, metavar="SECONDS", help="the moment to look at")
    p.add_argument("--out", required=True, metavar="PNG", help="the picture to write")
    p.add_argument("--character", default=None, metavar="NAME",
                   help="draw only this one, with a heat map (default: everyone the model sees there, or the "
                        "likeliest)")
    p.add_argument("--quiet", action="store_true", help="no progress line on the terminal")
    p.set_defaults(func=cmd_where)

    p = sub.add_parser("probe", help="show a video's length, frame rate and size")
    p.add_argument("video")
    p.set_defaults(func=cmd_probe)

    _add_spotcheck(sub)
    for register in _plugins():
        register(sub)
    return parser


def _plugins() -> list[Callable[[Any], None]]:
    """Subcommands that live with their feature (faces)."""
    out: list[Callable[[Any], None]] = []
    try:
        from .faces.cli import register
    except ImportError:
        pass
    else:
        out.append(register)
    from .batch_cli import register as register_batch
    out.append(register_batch)
    return out


def _printable_output() -> None:
    """File names that are not UTF-8 reach messages as surrogates: print them escaped instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]  # a TextIOWrapper


def main(argv: Optional[Sequence[str]] = None) -> int:
    _printable_output()
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = None
    with contextlib.suppress(ValueError):  # not in the main thread (a test calling main): keep the default
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _run(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    """Run the command; every way it can end is one line on stderr and an exit code."""
    try:
        return int(args.func(args) or 0)
    except ScreenTimeError as exc:
        if args.debug:
            raise
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Terminated:
        print("Stopped (terminated).", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
        return 130
    except OSError as exc:  # the machine said no: a full disk, no permission, a folder where a file should be
        if args.debug:
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"Error: {exc.strerror or exc}{where}: check the path, its permissions and the free disk space, "
              "then run again.", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug of ours: one line, the traceback with --debug
        if args.debug:
            raise
        print(f"Error: an unexpected problem stopped the run ({exc.__class__.__name__}: {exc}); "
              "run again with --debug and report it.", file=sys.stderr)
        return 1
