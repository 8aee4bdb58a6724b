"""One GPU check, under 8 minutes on one GPU: the paper setting's token cache, training, inference and spotting.

    python -m bench.gpu_check [--dataset-root data/demo] [--pretrained openai|PATH|none] [--out DIR]
    python -m bench.gpu_check --smoke --dataset-root ROOT --out DIR      # CPU, tiny config: tests the script

On a GPU (default mode):

1. builds the ViT-B/16 token cache of the dataset (``paper_vitb16`` training config, ``clipmg_vitb16``),
2. trains 3 epochs from it and evaluates the best on val/test (Top-1 printed: on the demo with random or
   pretrained CLIP it is a speed check, not a result),
3. times inference clips/s, bf16 batched vs fp32 one clip at a time, with the FLOP count and MFU
   (``bench.bench_inference.gpu_section``),
4. spots one test video with an untrained ``paper_vitb16`` spotter and prints frames/s (decode + tokens,
   windows + classifier + NMS) against real time (25 frames/s).

``--pretrained``: ``openai`` (the paper's weights, through open_clip's cache: the machine needs them) or a
checkpoint path; ``none`` uses random ViT-B/16 weights of the same architecture (same FLOPs, same speed).
Without ``--pretrained`` the OpenAI weights are used when open_clip finds them offline, otherwise ``none``
(said in the output). ``--smoke`` runs the same steps with the tiny config on the CPU, 1 epoch, and the CPU
inference section instead of the GPU one. Results: printed, and ``<out>/gpu_check.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _pretrained_available() -> bool:
    from clipmg_lib.model.factory import create_model

    try:
        create_model("clipmg_vitb16")
        return True
    except Exception as e:  # the factory's offline error names what to download
        print(f"[gpu_check] OpenAI ViT-B/16 weights not available offline ({type(e).__name__}: {str(e)[:200]})")
        return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset-root", default=None, help="dataset (default: the demo)")
    ap.add_argument("--pretrained", default=None, help="openai | PATH | none (default: openai if cached, else none)")
    ap.add_argument("--out", default=None, help="folder for caches, the run and gpu_check.json (default: a temp dir)")
    ap.add_argument("--smoke", action="store_true", help="CPU smoke run with the tiny config")
    ap.add_argument("--epochs", type=int, default=None, help="default 3 (smoke: 1)")
    ap.add_argument("--batch", type=int, default=64, help="GPU inference batch")
    args = ap.parse_args(argv)

    from clipmg_lib.data.clip_index import build_clip_index
    from clipmg_lib.core.paths import dataset_root
    from clipmg_lib.spotting import VideoSource, load_spotter_config
    from clipmg_lib.spotting.frame_tokens import FrameTokenStore
    from clipmg_lib.spotting.spotter import Spotter, build_spotting_model, spot_video, spotting_speed
    from clipmg_lib.runs import train_model
    from clipmg_lib.train import load_train_config

    t_start = time.perf_counter()
    gpu = torch.cuda.is_available()
    if not gpu and not args.smoke:
        print("[gpu_check] no GPU (torch.cuda.is_available() is False): run it on a GPU machine, or --smoke here")
        return 2
    out = Path(args.out or tempfile.mkdtemp(prefix="clipmg-gpu-check-"))
    out.mkdir(parents=True, exist_ok=True)
    root = dataset_root(args.dataset_root)
    epochs = args.epochs or (1 if args.smoke else 3)
    if args.smoke:
        train_name, spot_name, model_overrides = "tiny_demo", "tiny_demo", {}
    else:
        pretrained = args.pretrained or ("openai" if _pretrained_available() else "none")
        train_name, spot_name = "paper_vitb16", "paper_vitb16"
        model_overrides = {} if pretrained == "openai" else {"pretrained": None if pretrained == "none" else pretrained}
        print(f"[gpu_check] ViT-B/16 weights: {pretrained}")
    report: dict = {"mode": "smoke (CPU, tiny)" if args.smoke else "gpu", "dataset_root": str(root),
                    "device": torch.cuda.get_device_name(0) if gpu else "cpu"}

    # 1-2. token cache + 3 epochs
    cfg = load_train_config(train_name, epochs=epochs, model_overrides={**load_train_config(train_name).model_overrides,
                                                                          **model_overrides},
                            num_workers=0 if args.smoke else min(8, os.cpu_count() or 1))
    run = train_model(cfg, root, out_dir=out / "run", cache_root=out / "cache", resume=False, progress=False)
    report["train"] = {"epochs": epochs, **run.timings, "val": run.reports.get("val"), "test": run.reports.get("test")}
    print(f"[gpu_check] token cache {run.timings['cache_s']} s, {epochs} epoch(s) {run.timings['train_s']} s, "
          f"eval {run.timings['eval_s']} s; test {run.reports.get('test')}")

    # 3. inference clips/s (+ MFU on a GPU)
    from bench import bench_inference

    if gpu:
        report["inference"] = bench_inference.gpu_section(cfg.model, args.batch, 5, False)
    else:
        report["inference"] = bench_inference.cpu_section("clipmg_tiny", 4, 1, channels_last=False)

    # 4. spotting frames/s on one test video (untrained spotter: speed only)
    scfg = load_spotter_config(spot_name, train_overrides={"model_overrides": cfg.model_overrides})
    model = build_spotting_model(scfg).to("cuda" if gpu else "cpu").eval()
    store = FrameTokenStore(model, scfg.frame_stride, cache_root=out / "cache", progress=False)
    spotter = Spotter(model, scfg, scfg.train(), store, out)
    index = build_clip_index(root, progress=False)
    video = int(sorted(index.loc[index["split"] == "test", "video"].unique())[0])
    spot_video(spotter, VideoSource.from_dataset(root, video))
    report["spotting"] = {"video": video, **spotting_speed(spotter)}
    print(f"[gpu_check] spotting video {video}: {report['spotting']}")
    report["total_s"] = round(time.perf_counter() - t_start, 1)
    (out / "gpu_check.json").write_text(json.dumps(report, indent=1, default=str))
    print(f"[gpu_check] done in {report['total_s']} s -> {out / 'gpu_check.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
