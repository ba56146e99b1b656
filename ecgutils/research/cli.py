"""The research's commands: ``python -m ecgutils bench ...`` and ``experiment ...``.

The command line of the course (:mod:`ecgutils.__main__`) adds them with :func:`add_commands`;
nothing in the method imports this module.
"""

from __future__ import annotations

import argparse
import sys

from ..config import get_profile, project_root
from . import ledger, registry
from .bench import (
    INTERPATIENT_MODELS,
    bench_adaptive,
    bench_interpatient,
    bench_package,
    bench_predict,
    bench_readback,
    bench_records,
    bench_render,
    bench_train,
)
from .leadbench import bench_paced, bench_polarity
from .longbench import bench_holter, bench_long, bench_neighbourhood


def _cmd_bench(args: argparse.Namespace) -> int:

    if args.what == "package":
        print(bench_package())
        return 0
    if args.what == "long":
        print(bench_long())
        return 0
    if args.what == "neighbourhood":
        print(bench_neighbourhood(ds2=args.ds2))
        return 0
    if args.what == "holter":
        print(bench_holter(args.records))
        return 0
    if args.what == "polarity":
        print(bench_polarity(args.records))
        return 0
    if args.what == "paced":
        print(bench_paced())
        return 0
    if args.what == "records":
        print(bench_records(args.records, detector=args.detector))
        return 0
    if args.what == "adaptive":
        print(bench_adaptive(args.profile or "standard", minutes=args.minutes))
        return 0
    if args.what == "predict":
        record = args.records[0] if args.records else "100"
        print(bench_predict(record, model=args.model, self_train=args.self_train))
        return 0

    if args.what in ("train", "interpatient"):
        overrides = {} if args.epochs is None else {"epochs": args.epochs}
        if args.balance_power is not None:
            overrides["balance_power"] = args.balance_power
        if args.size is not None:
            overrides["size"] = args.size
        if args.what == "train":
            print(bench_train(args.profile or "standard", **overrides))
        else:
            recipe = args.model or "trees"
            if recipe not in INTERPATIENT_MODELS:
                raise ValueError(
                    f"bench interpatient --model: {', '.join(INTERPATIENT_MODELS)}, not {recipe!r}."
                )
            print(bench_interpatient(args.profile or "standard", recipe, **overrides))
    elif args.what == "render":
        print(bench_render(n_beats=args.beats, size=args.size or 128))
    elif args.what == "readback":
        print(bench_readback(args.records, size=args.size or 128))
    return 0


def _cmd_experiment(args: argparse.Namespace) -> int:
    from pathlib import Path

    profile = get_profile(args.profile)
    if args.action == "list":
        rows = []
        for name, exp in registry.EXPERIMENTS.items():
            stored = registry.load(name, profile, out=args.out)
            when = "not stored"
            if stored is not None:
                p = stored.provenance
                when = f"{p['date'][:10]}, {p['minutes']:.1f} min, commit {p['commit']}"
            rows.append(f"{name:<17} {exp.chapter}  {exp.title}\n{'':<21}{profile.name}: {when}")
        print("\n".join(rows))
        return 0
    if args.action == "ledger":
        if args.backfill:
            print(f"{registry.backfill_ledger(profile)} rows written from the stored results")
        print(ledger.ledger_text())
        return 0
    if args.action == "readme":
        failed = 0
        for readme in map(Path, args.readme):
            text = readme.read_text()
            new = registry.render_readme(text, out=args.out)
            if not args.check:
                readme.write_text(new)
                print(f"{readme}: experiment tables written from the stored results")
            elif new != text:
                print(
                    f"error: {readme}'s experiment tables differ from the stored results; "
                    "`python -m ecgutils experiment readme` writes them.",
                    file=sys.stderr,
                )
                failed = 1
            else:
                print(f"{readme}: experiment tables agree with the stored results")
        return failed
    names = list(registry.EXPERIMENTS) if args.names in ([], ["all"]) else args.names
    for name in names:
        registry.get_experiment(name)  # every name checked before any work
    for name in names:
        print(f"experiment {name} ({profile.name} profile)", flush=True)
        result = registry.run(name, profile, out=args.out)
        print(result.describe(), flush=True)
    return 0


def add_commands(sub) -> None:
    """Add ``bench`` and ``experiment`` to the subcommands ``sub`` of the course's parser."""
    p = sub.add_parser(
        "bench",
        help="render: original vs fast beat images; readback: waveform kept in the images; "
        "train: train and evaluate a profile's model; interpatient: train on DS1 patients, "
        "score DS2 patients (EC57); predict: classify a 30-minute record exported as CSV; "
        "records: every record through deployment, beats found and PVCs called V; adaptive: "
        "the patient-adaptive protocol (first minutes of each DS2 record labelled; reported "
        "apart); long: half an hour, a day and a week through deployment, time and peak memory; "
        "neighbourhood: deployment's reference span chosen on DS1 patient folds (joined records); "
        "holter: the Holter summary from the model and from the reference beats; polarity: each "
        "record as recorded and negated, beats of the same class; paced: paced beats said, on "
        "new paced patients (folds) and other records' beats wrongly flagged; package: the "
        "package's modules, sizes and imports",
    )
    p.add_argument(
        "what",
        choices=[
            "render",
            "readback",
            "train",
            "interpatient",
            "adaptive",
            "predict",
            "records",
            "long",
            "neighbourhood",
            "holter",
            "polarity",
            "paced",
            "package",
        ],
    )
    p.add_argument(
        "--minutes", type=float, default=5.0,
        help="adaptive: minutes at the start of each DS2 record that are labelled (default 5)",
    )  # fmt: skip
    p.add_argument("--detector", help="records: R-peak detector (default: deployment's)")
    p.add_argument(
        "--ds2", action="store_true",
        help="neighbourhood: then read DS2 once through deployment (for the DS2 ledger)",
    )  # fmt: skip
    p.add_argument("--profile", help="train: profile to train and evaluate (default standard)")
    p.add_argument("--epochs", type=int, help="train: override the profile's epochs")
    p.add_argument(
        "--model",
        help="interpatient: the course's recipe (trees, default), the trees self-trained on each "
        "DS2 patient's unlabelled beats (selftrained), the trees with the P wave deciding S "
        "beside them (joined), the CNN recipe (cnn), or the CNN recipe adapted to each DS2 "
        "record's unlabelled beats (cnn-batchnorm, cnn-selftrain, cnn-head: only its head "
        "learns, about 2 s a record a network); "
        "predict: a shipped model by name (trees, default; cnn8) or a model folder",
    )
    p.add_argument("--balance-power", type=float, help="train: class-weight exponent")
    p.add_argument(
        "--self-train", action="store_true",
        help="predict: time the prediction with self-training on the record (predict --self-train)",
    )  # fmt: skip
    p.add_argument(
        "--records",
        nargs="+",
        metavar="REC",
        help="readback, records: records (default all); predict: the record to export "
        "(default 100)",
    )
    p.add_argument("--beats", type=int, default=200, help="beats rendered by both paths")
    p.add_argument("--size", type=int, help="image side in pixels (render: default 128)")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser(
        "experiment",
        help="named experiments (the tables that take many models): list them, run them into "
        "ecgutils/resources/results, or write the README's tables from them",
    )
    p.add_argument("action", choices=["list", "run", "readme", "ledger"])
    p.add_argument("names", nargs="*", help="run: experiment names, or all (default all)")
    p.add_argument("--profile", help="quick, standard or paper (default: $ECG_PROFILE or standard)")
    p.add_argument("--out", help="results folder (default: ecgutils/resources/results)")
    p.add_argument(
        "--readme", nargs="+", default=[str(project_root() / p) for p in registry.RESULT_PAGES],
        help="readme: the files to fill (default: README.md and docs/results.md)",
    )  # fmt: skip
    p.add_argument("--check", action="store_true", help="readme: only check, write nothing")
    p.add_argument(
        "--backfill", action="store_true",
        help="ledger: first write the stored experiments' DS2 rows the ledger lacks",
    )  # fmt: skip
    p.set_defaults(func=_cmd_experiment)
