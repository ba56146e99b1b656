"""Command line of the course.

python -m ecgutils fetch [--records REC ...] [--profile P] [--source DIR]
python -m ecgutils course [--profile P] [NOTEBOOK ...]
python -m ecgutils profile [NAME]
python -m ecgutils predict FILE [--fs HZ] [--lead NAME] [--model NAME|DIR] [--self-train]
                            [--summary] [--json]
python -m ecgutils ship-model [--kind trees|cnn8|pacing] [--profile P]
python -m ecgutils app [--port PORT] [--ip ADDRESS]
python -m ecgutils bench {render,readback,train,interpatient,adaptive,predict,records}
python -m ecgutils figure pipeline [--record REC] [--out FILE]
python -m ecgutils book [--build DIR] [--out DIR]
python -m ecgutils experiment {list,run,readme} [NAME ... | all] [--profile P]
python -m ecgutils export [--check]
python -m ecgutils student [--out DIR]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from . import chapters, config, store
from .book import broken_links, build_book
from .course import format_summary, run_course
from .data import fetch, load_record
from .deploy.ecgfile import RATE_FROM
from .deploy.holter import holter_summary
from .deploy.predict import (
    MAX_FILE_BYTES,
    load_deployed_model,
    open_recording,
    predict_recording,
    predict_strip,
)
from .deploy.release import ship_model, ship_pacing, ship_trees
from .interface.plotting import pipeline_window, plot_pipeline
from .research import ledger
from .research.cli import add_commands as add_research_commands
from .store import publish_file


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

    profile = config.get_profile(args.profile).name
    runs = run_course(args.out, profile=profile, notebooks=args.notebooks or None)
    print(format_summary(runs, profile))
    print(f"Executed notebooks and HTML: {args.out or 'build'}/notebooks/")
    return 0 if all(r.ok for r in runs) else 1


def _cmd_figure(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import matplotlib

    matplotlib.use("Agg")
    from pathlib import Path

    import matplotlib.pyplot as plt

    out = Path(args.out)
    rec = load_record(str(args.record))
    cnn8 = load_deployed_model("cnn8")  # the paper's method, which the figure shows
    start_s = pipeline_window(rec)
    fig = plot_pipeline(predict_strip(rec, start_s, 6.0, cnn8), cnn8, rec, start_s)
    with publish_file(out) as tmp:
        fig.savefig(tmp, dpi=args.dpi)
    plt.close(fig)
    print(f"Pipeline figure of record {args.record}: {out}")
    return 0


def _cmd_book(args: argparse.Namespace) -> int:

    index = build_book(args.build, args.out)
    broken = broken_links(index.parent)
    for link in broken:
        print(f"broken link: {link}", file=sys.stderr)
    print(f"Course site: {index} ({len(list(index.parent.glob('*.html')))} pages)")
    return 1 if broken else 0


def _cmd_predict(args: argparse.Namespace) -> int:
    import json
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    rec = open_recording(
        args.file, fs=args.fs, lead=args.lead, units=args.units, gain=args.gain,
        baseline=args.baseline, delimiter=args.delimiter, decimal=args.decimal,
    )  # fmt: skip
    model = load_deployed_model(args.model)
    # a progress bar on stderr for anything longer than a few minutes of ECG
    pred = predict_recording(rec, model, self_train=args.self_train, progress=rec.duration_s > 300)
    summary = None
    if args.summary:
        beats = pred.beats
        summary = holter_summary(
            beats["r"].to_numpy(), beats["class"].to_numpy(), rec.fs,
            duration_s=rec.duration_s, scheme=model.card["scheme"],
        )  # fmt: skip
    if args.json:
        out = json.loads(pred.to_json())
        if summary is not None:
            out["holter"] = summary.to_dict()
        print(json.dumps(out, indent=1))
        return 0
    print(f"Model: {pred.model}")
    for note in pred.notes:  # what the answer must say first (a part that looks paced)
        print(f"Note: {note}")
    print(
        f"{rec.source}: lead {rec.lead}, {rec.n_samples:,} samples at {rec.fs:g} Hz "
        f"({RATE_FROM[rec.fs_source]}; {rec.duration_s:.1f} s), {len(pred.beats):,} beats"
    )
    if summary is not None:
        print(summary.text())
    else:
        print("\n".join(pred.lines()))
    print(pred.summary.to_string())
    return 0


def _cmd_ship_model(args: argparse.Namespace) -> int:

    if args.kind == "pacing":
        folder = ship_pacing(args.out)
        print(f"Saved the pacing detector and its card in {folder}")
        print((folder / "card.json").read_text())
        return 0
    if args.kind == "trees":
        shipped = ship_trees(args.profile, args.out)
        weights = "trees.pkl"
    else:
        shipped = ship_model(args.profile, args.out)
        weights = "model.keras"
    size = (shipped.path / weights).stat().st_size / 2**20
    print(f"Saved {shipped.card['model']} ({size:.1f} MB) and its card in {shipped.path}")
    if ledger.covers_ds2(args.profile):  # the card's new-patient figures read DS2: on record
        ledger.record_card(shipped.card)
    print((shipped.path / "MODEL_CARD.md").read_text())
    return 0


def _cmd_app(args: argparse.Namespace) -> int:
    import os
    import subprocess
    from pathlib import Path

    notebook = Path(__file__).resolve().parent.parent / "app" / "predict.ipynb"
    if not notebook.is_file():
        raise FileNotFoundError(f"No app notebook at {notebook}: run from a clone of the course.")
    # uploads travel over the kernel's websocket: let files up to the size limit through
    tornado = {"websocket_max_message_size": 2 * MAX_FILE_BYTES}
    cmd = [
        sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={args.port}",
        f"--Voila.ip={args.ip}", f"--Voila.tornado_settings={tornado}",
    ]  # fmt: skip
    host = "127.0.0.1" if args.ip in ("127.0.0.1", "localhost") else args.ip
    if host != "127.0.0.1":
        print(f"Listening on {args.ip}: other machines on the network can reach the app.")
    print(f"The app: http://{host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    if os.name == "posix":  # become Voila: a signal that stops this process stops the server
        os.execv(sys.executable, cmd)
    return subprocess.call(cmd)


def _cmd_cache(args: argparse.Namespace) -> int:
    import pandas as pd

    if args.clear or args.all:
        removed = store.clear(everything=args.all)
        print(f"Removed {len(removed)} {'entries' if args.all else 'stale entries and leftovers'}.")
    table = store.entries()
    if table.empty:
        print(f"Nothing stored under {config.data_dir()}.")
        return 0
    with pd.option_context("display.width", 160, "display.max_rows", 500):
        print(table.drop(columns="path").to_string(index=False))
    stale = int((~table["current"]).sum())
    print(
        f"{len(table)} entries, {table['MB'].sum():,.1f} MB under {config.data_dir()}; "
        f"{stale} stale (the current code would not use them"
        + ("; `python -m ecgutils cache --clear` removes them)" if stale else ")")
    )
    return 0


def _cmd_speed(args: argparse.Namespace) -> int:

    from .models import machine_speed  # deferred: ecgutils.models loads TensorFlow

    ms = machine_speed()
    line = f"machine speed: models.time_per_image {ms:.2f} ms (compact CNN, 48x48, training step)"
    if args.phases:
        times = dict(p.split("=", 1) for p in args.phases.split())
        total = sum(float(v) for v in times.values())
        parts = ", ".join(f"{k} {float(v) / 60:.1f}" for k, v in times.items())
        print(f"times (min): {parts}; total {total / 60:.1f}")
    print(line)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:

    if args.check:
        found = chapters.differences()
        for line in found:
            print(line)
        print(
            f"{len(chapters.exported_definitions())} definitions exported by the chapters; "
            f"{len(found)} differ from the package."
        )
        return 1 if found else 0
    changed = chapters.export()
    print(
        "\n".join(f"updated {name}" for name in changed)
        or "The package already holds the chapters' code."
    )
    return 0


def _cmd_student(args: argparse.Namespace) -> int:

    written = chapters.student_copies(args.out)
    n = sum(len(chapters.exercises(p)) for p in chapters.notebooks())
    print(
        f"Wrote {len(written)} student notebooks ({n} exercises, solutions removed) to {args.out}"
    )
    return 0


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, as every other error of the command line."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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

    add_research_commands(sub)  # bench, experiment: ecgutils.research.cli

    p = sub.add_parser("figure", help="the pipeline figure of the README and notebook 01")
    p.add_argument("what", choices=["pipeline"])
    p.add_argument("--record", default="207", help="MIT-BIH record (default 207)")
    p.add_argument(
        "--out", default="docs/pipeline.png", help="image file (default docs/pipeline.png)"
    )
    p.add_argument("--dpi", type=int, default=90, help="resolution (default 90)")
    p.set_defaults(func=_cmd_figure)

    p = sub.add_parser("book", help="the executed notebooks (make course) as a static site")
    p.add_argument("--build", help="folder make course wrote (default build/)")
    p.add_argument("--out", help="site folder (default build/book)")
    p.set_defaults(func=_cmd_book)

    p = sub.add_parser("predict", help="classify every beat of a raw ECG file (CSV, WFDB or EDF)")
    p.add_argument(
        "file", help="CSV (one column, or time + leads), WFDB record (.hea) or EDF/EDF+ (.edf)"
    )
    p.add_argument(
        "--fs", type=float,
        help="sampling rate in Hz: needed when the file does not state it (a WFDB header, a "
        "time column or a rate comment states it; a different value is refused)",
    )  # fmt: skip
    p.add_argument("--lead", help="lead name or index (default MLII, else the first)")
    p.add_argument("--units", help="mV (default), uV, V, or adc (with --gain)")
    p.add_argument("--gain", type=float, help="ADC units per mV, with --units adc")
    p.add_argument("--baseline", type=float, default=0.0, help="ADC baseline, with --units adc")
    p.add_argument(
        "--delimiter", choices=["comma", "semicolon", "tab", "space"],
        help="what separates the columns of a text file (found from the file when left out)",
    )  # fmt: skip
    p.add_argument(
        "--decimal", choices=["point", "comma"],
        help="the decimal mark of a text file (found from the file; asked when it could be both)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--summary", action="store_true",
        help="the Holter summary (heart rate and classes per hour, PVC and SVEB burden, couplets, "
        "runs, bigeminy, pauses) instead of one line per beat; with --json, both",
    )  # fmt: skip
    p.add_argument(
        "--model",
        help="a shipped model by name, trees (default: AAMI classes, built for new patients) or "
        "cnn8 (the paper's 8 classes; weak on new patients), or the folder of one saved by "
        "ship-model --out",
    )
    p.add_argument(
        "--self-train", action="store_true",
        help="let the recording's own confidently classified beats teach the trees, then classify "
        "again (trees only; seconds more; better S and V +P on new patients, see the model card)",
    )  # fmt: skip
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("app", help="serve the prediction app as a web page (Voila) on localhost")
    p.add_argument("--port", type=int, default=8866, help="port (default 8866)")
    p.add_argument(
        "--ip", default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: every network)",
    )  # fmt: skip
    p.set_defaults(func=_cmd_app)

    p = sub.add_parser("ship-model", help="train a deployed model and write its card")
    p.add_argument(
        "--kind", choices=["trees", "cnn8", "pacing"], default="cnn8",
        help="cnn8: chapter 06's CNN (default); trees: chapter 09's recipe on every record; "
        "pacing: the paced-beat detector on every record",
    )  # fmt: skip
    p.add_argument("--profile", default="standard", help="profile to train (default standard)")
    p.add_argument(
        "--out", help="folder (default: ecgutils/resources/model, or resources/trees for trees)"
    )
    p.set_defaults(func=_cmd_ship_model)

    p = sub.add_parser(
        "cache", help="list what the course stored under data/ (kind, key, size, age, current)"
    )
    p.add_argument("--clear", action="store_true", help="remove stale entries and leftovers")
    p.add_argument("--all", action="store_true", help="remove every entry")
    p.set_defaults(func=_cmd_cache)

    p = sub.add_parser(
        "speed", help="this machine's speed: ms per 48x48 image of a compact-CNN training step"
    )
    p.add_argument("--phases", help='durations to report beside it, e.g. "unit=200 nb=280" (s)')
    p.set_defaults(func=_cmd_speed)

    p = sub.add_parser(
        "export", help="write the code the chapters define (#| export cells) into ecgutils"
    )
    p.add_argument(
        "--check", action="store_true", help="only list where chapters and package differ"
    )
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("student", help="student copies of the chapters: no solutions, no outputs")
    p.add_argument("--out", default="build/student", help="folder (default: build/student)")
    p.set_defaults(func=_cmd_student)

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
    except BrokenPipeError:  # the reader stopped early (`... | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second complaint
        return 0
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback: one line, and the way to see more
        if os.environ.get(DEBUG_ENV):
            raise
        print(
            f"error: unexpected {type(exc).__name__}: {_one_line(exc)} (set {DEBUG_ENV}=1 to "
            "see where; please report it)",
            file=sys.stderr,
        )
        return 1


#: Set to see the traceback of an unexpected error.
DEBUG_ENV = "ECG_DEBUG"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
