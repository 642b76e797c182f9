"""`python -m train`: train the churn model into a folder or a registry, and manage the registry.

    python -m train [--data FILE ...] [--output-dir DIR]                  one artifact (DESIGN §4)
    python -m train --data FILE [--data FILE ...] --registry DIR [--promote auto|always|never]
                    [--tolerance 0.005] [--min-auc 0.75]
    python -m train promote VERSION --registry DIR
    python -m train rollback --registry DIR
    python -m train list --registry DIR
    python -m train shadow [VERSION | --off] --registry DIR             name (or stop) the challenger churn
                                                                        scores beside the served model
    python -m train promote-shadow --registry DIR [--quality URL|FILE] [--token T] [--min-rows 200]
                                                                        serve it when outcomes show no loss

--registry defaults to $MODEL_REGISTRY when that is set. Several --data files are trained on together
(rows concatenated); when rows carry observed_at, the newest 20% are held out instead of a random 20%.
promote-shadow reads marketing's GET /api/model-quality (default $MARKETING_URL/api/model-quality, token
$MARKETING_TOKEN) and promotes only when the 95% CI of challenger − champion AUC excludes a loss.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from train.config import marketing_quality_default, marketing_token_default, registry_default
from train.registry import Registry

log = logging.getLogger("train")
COMMANDS = ("promote", "rollback", "list", "shadow", "promote-shadow")
DEFAULT_DATA = Path("data/telco-customer-churn.csv")


def _registry_option(parser: argparse.ArgumentParser, required: bool) -> None:
    default = registry_default()
    parser.add_argument("--registry", type=Path, default=default, required=required and default is None,
                        help="model registry folder (default: $MODEL_REGISTRY)")


def parse_train_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, action="append", default=None,
                        help=f"a Telco-layout CSV; repeat to train on several (default {DEFAULT_DATA})")
    parser.add_argument("--output-dir", type=Path, default=None, help="write one artifact here (default models/)")
    _registry_option(parser, required=False)
    parser.add_argument("--promote", choices=("auto", "always", "never"), default="auto",
                        help="with --registry: serve the candidate if it is not worse (auto, the default), always, or never")
    parser.add_argument("--tolerance", type=float, default=0.005, help="AUC a candidate may lose and still be promoted")
    parser.add_argument("--min-auc", type=float, default=0.75,
                        help="AUC a candidate must reach on the new and the current model's held-out rows (default 0.75)")
    parser.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength (default 1.0)")
    parser.add_argument("--folds", type=int, default=5, help="K-fold CV splits (default 5, at least 2)")
    parser.add_argument("--seed", type=int, default=1, help="split and fold seed (default 1)")
    args = parser.parse_args(argv)
    if args.folds < 2:
        parser.error("--folds must be at least 2")
    if not args.C > 0:
        parser.error("--C must be a positive number")
    if not args.tolerance >= 0:
        parser.error("--tolerance must be 0 or more")
    if not 0 <= args.min_auc <= 1:
        parser.error("--min-auc must be from 0 to 1")
    args.data = args.data or [DEFAULT_DATA]
    if args.output_dir is not None and args.registry is not None and "--registry" in argv:
        parser.error("give --output-dir or --registry, not both")
    if args.output_dir is not None:
        args.registry = None
    elif args.registry is None:
        args.output_dir = Path("models")
    return args


def parse_command_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m train {argv[0]}")
    if argv[0] == "promote":
        parser.add_argument("version", help="the version to serve (see `python -m train list`)")
    elif argv[0] == "shadow":
        parser.add_argument("version", nargs="?", help="the challenger to score beside the served model")
        parser.add_argument("--off", action="store_true", help="stop shadow scoring (remove SHADOW)")
    elif argv[0] == "promote-shadow":
        quality = marketing_quality_default()
        parser.add_argument("--quality", default=quality, required=quality is None,
                            help="marketing's GET /api/model-quality URL, or a saved copy of its JSON "
                                 "(default: $MARKETING_URL/api/model-quality)")
        parser.add_argument("--token", default=marketing_token_default(),
                            help="a marketing API token of a marketer or admin (default: $MARKETING_TOKEN)")
        parser.add_argument("--min-rows", type=int, default=200,
                            help="labelled rows the comparison needs at least (default 200)")
    _registry_option(parser, required=True)
    args = parser.parse_args(argv[1:])
    if argv[0] == "shadow" and args.off and args.version:
        parser.error("give a VERSION or --off, not both")
    return args


def run_command(command: str, args: argparse.Namespace) -> int:
    from train.lifecycle import describe

    registry = Registry(args.registry)
    if command == "list":
        for line in describe(registry):
            log.info("%s", line)
    elif command == "promote":
        registry.promote(args.version)
        log.info("now serving %s from %s", args.version, registry.root)
    elif command == "shadow":
        if args.off or args.version:
            registry.set_shadow(None if args.off else args.version)
        shadow = registry.shadow()
        log.info("%s", f"churn shadow-scores {shadow} beside {registry.current()}" if shadow else "no shadow challenger")
    elif command == "promote-shadow":
        return run_promote_shadow(registry, args)
    else:
        log.info("rolled back: now serving %s from %s", registry.rollback(), registry.root)
    return 0


def run_promote_shadow(registry: Registry, args: argparse.Namespace) -> int:
    from train.shadow import decide, promote_shadow, read_quality

    decision = decide(registry, read_quality(args.quality, args.token), args.min_rows)
    if decision.promote:
        challenger = registry.shadow()
        promote_shadow(registry, decision)
        log.info("PROMOTED: %s is now served from %s (%s); shadow scoring stopped", challenger, registry.root,
                 decision.reason)
    else:
        log.info("KEPT, NOT PROMOTED: %s is still served, %s still shadowed (%s)", registry.current(),
                 registry.shadow(), decision.reason)
    return 0


def run_training(args: argparse.Namespace) -> int:
    # Imported here so `--help` and argument errors answer without loading scikit-learn.
    from train import artifact
    from train.data import load_dataset
    from train.lifecycle import train_into
    from train.pipeline import TrainParams, run
    from train.registry import Registry

    started = time.perf_counter()
    registry = Registry(args.registry) if args.registry else None
    if registry is not None:
        registry.prepare()
    else:
        artifact.prepare_output_dir(args.output_dir)
    log.info("reading %s", ", ".join(map(str, args.data)))
    data = load_dataset(args.data)
    log.info("%d customers, %.1f%% churned", len(data.labels), 100 * sum(data.labels) / len(data.labels))
    result = run(data, TrainParams(C=args.C, folds=args.folds, seed=args.seed))
    if registry is None:
        manifest = artifact.write(result, data, args.output_dir, n_test=len(result.test_labels))
        log.info("wrote %s (%.1f KiB, version %s), model.json, model.onnx, model.pmml and roc.png in %.1f s",
                 args.output_dir / "model.bin", (args.output_dir / "model.bin").stat().st_size / 1024,
                 manifest["version"], time.perf_counter() - started)
        return 0
    outcome = train_into(registry, result, data, args.promote, args.tolerance, args.min_auc)
    evaluation = outcome.evaluation
    current = "none" if evaluation["current_auc"] is None else f"{evaluation['current_auc']:.4f} ({evaluation['parent']})"
    log.info("candidate %s: AUC %.4f; current model: %s", outcome.version, evaluation["candidate_auc"], current)
    for name, test in evaluation["tests"].items():
        log.info("  gate %-12s %s: %s", name, {True: "PASS", False: "FAIL", None: "SKIP"}[test["passed"]], test["detail"])
    if outcome.promoted:
        log.info("PROMOTED: %s is now served from %s (%s)", outcome.version, registry.root, evaluation["reason"])
    else:
        log.info("KEPT, NOT PROMOTED: %s stays in %s; %s is still served (%s)", outcome.version, registry.root,
                 registry.current() or "nothing", evaluation["reason"])
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv and argv[0] in COMMANDS else None
    args = parse_command_args(argv) if command else parse_train_args(argv)
    from train.artifact import OutputError
    from train.data import DataError
    from train.registry import RegistryError

    try:
        return run_command(command, args) if command else run_training(args)
    except (DataError, OutputError, RegistryError) as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201 - the CLI's one-line answer
        return 2


if __name__ == "__main__":
    sys.exit(main())
