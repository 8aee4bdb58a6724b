"""Command line: train (or run the ablations) in one process or under torchrun.

    # the CPU demo
    python -m clipmg_lib.runs.train --config tiny_demo --out results/train/tiny
    # the paper configuration on iMiGUE, one GPU
    python -m clipmg_lib.runs.train --config paper_vitb16 --dataset-root /data/imigue --out results/train/vitb16
    # the same on 4 GPUs (batch_size stays the global batch)
    torchrun --nproc_per_node 4 -m clipmg_lib.runs.train --config paper_vitb16 --dataset-root /data/imigue --out ...
    # every ablation with the same seed and budget
    python -m clipmg_lib.runs.train --config tiny_demo --ablations --out results
    # any config field, dotted for nested ones (values are JSON, else strings):
    #   --set epochs=5 --set lr=3e-4 --set model_overrides.inputs.heatmap.size=32 --set model_overrides.pretrained=/w/vitb16.pt

A run resumes from ``<out>/last.pt`` when it exists (``--no-resume`` starts over).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ..core.config import override_argument


def build_parser() -> argparse.ArgumentParser:
    """The CLI's arguments; ``--set`` items are parsed by :func:`clipmg_lib.core.config.override_argument`."""
    ap = argparse.ArgumentParser(prog="python -m clipmg_lib.runs.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="tiny_demo", help="training config name or JSON path (default tiny_demo)")
    ap.add_argument("--dataset-root", default=None, help="iMiGUE root (default: the demo dataset)")
    ap.add_argument("--out", default=None, help="output folder (default results/train/<model>; with --ablations: results)")
    ap.add_argument("--cache-dir", default=None, help="feature cache root (default data/cache or $CLIPMG_CACHE_DIR)")
    ap.add_argument("--set", action="append", type=override_argument, default=[], metavar="FIELD=VALUE",
                    help="override a TrainConfig field, dotted for nested ones (model_overrides.inputs.heatmap.size=32); "
                         "the value is JSON, else a string (repeatable)")
    ap.add_argument("--ablations", nargs="*", default=None, metavar="VARIANT",
                    help="run the ablation table (all variants, or those named)")
    ap.add_argument("--no-resume", action="store_true", help="start over instead of resuming from last.pt")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    from .ablation import DEFAULT_VARIANTS, run_ablations
    from ..train.config import load_train_config
    from ..train.distributed import cleanup, init_distributed
    from .train_model import train_model

    from ..core.config import ConfigError
    from ..data.clip_index import BadDataError

    try:
        config = load_train_config(args.config, dict(args.set))
    except ConfigError as exc:  # before any work
        print(f"error: {exc}", file=sys.stderr)
        return 2
    dist_info = init_distributed(config.device)
    ok = False
    try:
        if args.ablations is not None:
            table = run_ablations(config, args.ablations or DEFAULT_VARIANTS, args.dataset_root, args.out,
                                  args.cache_dir, resume=not args.no_resume, progress=not args.quiet,
                                  dist_info=dist_info)
            if dist_info.is_main:
                print(table.to_string(index=False))
        else:
            result = train_model(config, args.dataset_root, args.out, args.cache_dir, resume=not args.no_resume,
                                 progress=not args.quiet, dist_info=dist_info)
            if dist_info.is_main:
                print(json.dumps({"out_dir": str(result.out_dir), "best": result.best, "reports": result.reports,
                                  "timings": result.timings}, indent=2, default=float))
        ok = True
    except BadDataError as exc:  # found at index time, before any cache is built
        print(f"error: {exc}", file=sys.stderr)
        ok = True
        return 2
    finally:
        cleanup(wait=ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
