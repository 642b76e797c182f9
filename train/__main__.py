"""`python -m train`: train the churn model and write the artifact (see DESIGN §4)."""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

log = logging.getLogger("train")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m train", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data/telco-customer-churn.csv"))
    parser.add_argument("--output-dir", type=Path, default=Path("models"))
    parser.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength (default 1.0)")
    parser.add_argument("--folds", type=int, default=5, help="K-fold CV splits (default 5, at least 2)")
    parser.add_argument("--seed", type=int, default=1, help="split and fold seed (default 1)")
    args = parser.parse_args(argv)
    if args.folds < 2:
        parser.error("--folds must be at least 2")
    if not args.C > 0:
        parser.error("--C must be a positive number")
    return args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    args = parse_args(argv)
    # Imported here so `--help` and argument errors answer without loading scikit-learn.
    from train import artifact
    from train.data import DataError, load_dataset
    from train.pipeline import TrainParams, run

    started = time.perf_counter()
    try:
        artifact.prepare_output_dir(args.output_dir)
        log.info("reading %s", args.data)
        data = load_dataset(args.data)
        log.info("%d customers, %.1f%% churned", len(data.labels), 100 * sum(data.labels) / len(data.labels))
        result = run(data, TrainParams(C=args.C, folds=args.folds, seed=args.seed))
        manifest = artifact.write(result, data, args.output_dir, n_test=len(result.test_labels))
    except (DataError, artifact.OutputError) as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201 - the CLI's one-line answer
        return 2
    size_kb = (args.output_dir / "model.bin").stat().st_size / 1024
    log.info(
        "wrote %s (%.1f KiB, version %s), model.json and roc.png in %.1f s",
        args.output_dir / "model.bin", size_kb, manifest["version"], time.perf_counter() - started,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
