"""Command line of the course.

python -m ecgutils fetch [--records REC ...] [--profile P] [--source DIR]
python -m ecgutils course [--profile P] [NOTEBOOK ...]
python -m ecgutils profile [NAME]
"""

from __future__ import annotations

import argparse
import logging
import sys

from . import config
from .data import fetch


def _cmd_fetch(args: argparse.Namespace) -> int:
    records = args.records
    if records is None and args.profile:
        records = config.get_profile(args.profile).records
    report = fetch(records, source=args.source, dest=args.dest, progress=not args.quiet)
    print(f"MIT-BIH 1.0.0: {report}")
    return 0


def _cmd_profile(args: argparse.Namespace) -> int:
    p = config.get_profile(args.name)
    print(
        f"{p.name}: {p.description}\n  records ({len(p.records)}): {' '.join(p.records)}\n"
        f"  scheme: {p.scheme}, image size: {p.image_size}, seed: {p.seed}"
    )
    return 0


def _cmd_course(args: argparse.Namespace) -> int:
    from .course import format_summary, run_course

    profile = config.get_profile(args.profile).name
    runs = run_course(args.out, profile=profile, notebooks=args.notebooks or None)
    print(format_summary(runs, profile))
    print(f"Executed notebooks and HTML: {args.out or 'build'}/notebooks/")
    return 0 if all(r.ok for r in runs) else 1


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench import bench_interpatient, bench_readback, bench_render, bench_train

    if args.what in ("train", "interpatient"):
        overrides = {} if args.epochs is None else {"epochs": args.epochs}
        if args.balance_power is not None:
            overrides["balance_power"] = args.balance_power
        if args.size is not None:
            overrides["size"] = args.size
        if args.what == "train":
            print(bench_train(args.profile or "standard", **overrides))
        else:
            print(bench_interpatient(args.profile or "standard", args.model, **overrides))
    elif args.what == "render":
        print(bench_render(n_beats=args.beats, size=args.size or 128))
    elif args.what == "readback":
        print(bench_readback(args.records, size=args.size or 128))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ecgutils",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fetch", help="fetch and verify MIT-BIH files into data/mitdb")
    p.add_argument(
        "--records",
        nargs="+",
        metavar="REC",
        help="records to fetch (default: all 48, or those of --profile)",
    )
    p.add_argument("--profile", help="fetch the records of this profile (quick, standard, paper)")
    p.add_argument(
        "--source",
        metavar="DIR",
        help=f"local folder with MIT-BIH 1.0.0 files (default: ${config.SOURCE_ENV}; "
        "without it, download from PhysioNet)",
    )
    p.add_argument("--dest", metavar="DIR", help="target folder (default: data/mitdb)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_fetch)

    p = sub.add_parser("course", help="execute every notebook in order, headless")
    p.add_argument("notebooks", nargs="*", help="notebooks to run (default: all, in order)")
    p.add_argument("--profile", help="quick, standard or paper (default: $ECG_PROFILE or standard)")
    p.add_argument("--out", help="build folder (default: build/)")
    p.set_defaults(func=_cmd_course)

    p = sub.add_parser(
        "bench",
        help="render: original vs fast beat images; readback: waveform kept in the images; "
        "train: train and evaluate a profile's model; interpatient: train on DS1 patients, "
        "score DS2 patients (EC57)",
    )
    p.add_argument("what", choices=["render", "readback", "train", "interpatient"])
    p.add_argument("--profile", help="train: profile to train and evaluate (default standard)")
    p.add_argument("--epochs", type=int, help="train: override the profile's epochs")
    p.add_argument(
        "--model",
        choices=["trees", "cnn"],
        default="trees",
        help="interpatient: the course's recipe (trees, default) or the CNN recipe (cnn)",
    )
    p.add_argument("--balance-power", type=float, help="train: class-weight exponent")
    p.add_argument("--records", nargs="+", metavar="REC", help="readback: records (default all)")
    p.add_argument("--beats", type=int, default=200, help="beats rendered by both paths")
    p.add_argument("--size", type=int, help="image side in pixels (render: default 128)")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("profile", help="show a profile (default: the one $ECG_PROFILE selects)")
    p.add_argument("name", nargs="?")
    p.set_defaults(func=_cmd_profile)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    logging.getLogger("ecgutils").setLevel(logging.INFO)
    try:
        return args.func(args)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
