"""Inference throughput (clips/s) of the full CLIP-MG model, frames in -> logits out.

CPU (always): ``clipmg_tiny`` and ``clipmg_vitb16`` (built without weights). Contenders, interleaved:

- ``one clip at a time`` - the naive loop: ``model(frames=..., heatmap=...)`` per clip, under ``no_grad``;
- ``batched`` - the kit's way (``model.inference.forward_encoded``/``train.trainer.forward_dataset``): B clips per call under
  ``inference_mode``;
- ``batched, pose encoder channels_last_3d`` - the same with the 3D CNN and its input in channels-last
  memory format (oneDNN's preferred layout for Conv3d on CPU).

GPU (when ``torch.cuda.is_available()``; otherwise it prints ``no GPU`` lines): the same model in fp32
one clip at a time against bf16 autocast with a large batch, timed with CUDA events; the achieved FLOP
rate counts the CLIP encoding and the head (``torch.utils.flop_counter.FlopCounterMode``) and MFU divides
it by the GPU's dense bf16 peak from :data:`PEAK_BF16_TFLOPS` (``CLIPMG_PEAK_TFLOPS`` overrides it).

    .venv/bin/python -m bench.bench_inference [--quick] [--gpu-batch 64] [--compile]
"""
from __future__ import annotations

import argparse
import copy
import os
import sys

import torch

from bench.common import (Timing, count_flops, cuda_time, print_machine, print_timings, ratio, set_cpu_threads,
                          time_side_by_side, write_results)

#: Dense (no sparsity) bf16 tensor-core peak, TFLOP/s, by a substring of ``torch.cuda.get_device_name()``;
#: first match wins. Override with the environment variable ``CLIPMG_PEAK_TFLOPS``.
PEAK_BF16_TFLOPS = [("H100 PCIe", 756.0), ("H100", 989.0), ("H200", 989.0), ("H800", 989.0), ("A100", 312.0),
                    ("A800", 312.0), ("L40S", 362.0), ("A10G", 70.0), ("RTX 4090", 165.0)]


def peak_bf16_flops(device_name: str) -> float | None:
    """Peak dense bf16 FLOP/s of a GPU by name (or ``$CLIPMG_PEAK_TFLOPS``); None when unknown."""
    env = os.environ.get("CLIPMG_PEAK_TFLOPS")
    if env:
        return float(env) * 1e12
    for key, tflops in PEAK_BF16_TFLOPS:
        if key.lower() in device_name.lower():
            return tflops * 1e12
    return None


def random_inputs(model, batch: int, device: str = "cpu") -> dict[str, torch.Tensor]:
    """CLIP-normalised frames (B, T, 3, S, S) and heatmaps (B, C, T, H, W) of the model's shapes."""
    s, t = model.image_size, model.cfg.num_frames
    g = torch.Generator().manual_seed(0)
    return {"frames": torch.randn(batch, t, 3, s, s, generator=g).to(device),
            "heatmap": torch.rand(batch, *model.heatmap_shape, generator=g).to(device)}


def flops_per_clip(model, device: str = "cpu") -> int:
    """FLOPs of one clip through the full model (CLIP encoding of T frames + the head), forward only."""
    x = random_inputs(model, 1, device)
    with torch.no_grad():
        return count_flops(lambda: model(**x))


def with_channels_last_pose(model):
    """The same model object graph, sharing every module but a channels-last copy of the pose encoder."""
    twin = copy.copy(model)
    twin._modules = dict(model._modules)
    twin._modules["pose_encoder"] = copy.deepcopy(model.pose_encoder).to(memory_format=torch.channels_last_3d)
    return twin


def cpu_section(name: str, batch: int, repeats: int, channels_last: bool = True) -> dict:
    from clipmg_lib.model.factory import create_model

    model = create_model(name, pretrained=None).eval()
    x = random_inputs(model, batch)
    flops = flops_per_clip(model)

    def one_at_a_time():
        with torch.no_grad():
            return [model(frames=x["frames"][i:i + 1], heatmap=x["heatmap"][i:i + 1])["logits"] for i in range(batch)]

    def batched():
        with torch.inference_mode():
            return model(**x)["logits"]

    x_cl = dict(x, heatmap=x["heatmap"].contiguous(memory_format=torch.channels_last_3d))
    model_cl = with_channels_last_pose(model)

    def batched_cl():
        with torch.inference_mode():
            return model_cl(**x_cl)["logits"]

    ref = torch.cat(one_at_a_time())  # also the warm-up (oneDNN primitives, allocator)
    torch.testing.assert_close(batched(), ref, rtol=1e-3, atol=1e-3)
    contenders = {"one clip at a time (naive)": one_at_a_time, f"batched (B={batch})": batched}
    if channels_last:
        torch.testing.assert_close(batched_cl(), ref, rtol=1e-3, atol=1e-3)
        contenders[f"batched (B={batch}), pose channels_last_3d"] = batched_cl
    timings = time_side_by_side(contenders, repeats=repeats, warmup=0, units_per_call=batch, unit="clip")
    rows = print_timings(f"{name} inference on CPU, frames -> logits ({flops / 1e9:.1f} GFLOP per clip)",
                         timings.values(), baseline="one clip at a time (naive)")
    best = max(timings.values(), key=lambda t: t.throughput)
    print(f"  best: {best.throughput:.2f} clips/s = {best.throughput * flops / 1e9:.0f} GFLOP/s achieved on the CPU")
    return {"model": name, "batch": batch, "flops_per_clip": flops, "timings": rows,
            "batched_vs_naive": ratio(timings["one clip at a time (naive)"], timings[f"batched (B={batch})"]),
            "best_clips_per_s": best.throughput}


def gpu_section(name: str, batch: int, repeats: int, compile_model: bool) -> dict | None:
    """fp32 one clip at a time vs bf16 autocast batched on the GPU, CUDA-event timing, FLOP rate and MFU."""
    if not torch.cuda.is_available():
        print(f"\n== {name} on GPU: no GPU (torch.cuda.is_available() is False) - skipped; on a GPU machine this "
              f"section times fp32 batch 1 vs bf16 autocast batch {batch} with CUDA events and prints MFU")
        return None
    from clipmg_lib.model.factory import create_model

    device = "cuda"
    gpu = torch.cuda.get_device_name(0)
    torch.backends.cuda.matmul.allow_tf32 = False  # the naive baseline is plain fp32
    model = create_model(name, pretrained=None).eval().to(device)
    flops = flops_per_clip(model, device)
    x = random_inputs(model, batch, device)
    fast = torch.compile(model) if compile_model else model

    def fp32_one_at_a_time():
        with torch.no_grad():
            for i in range(batch):
                model(frames=x["frames"][i:i + 1], heatmap=x["heatmap"][i:i + 1])

    def bf16_batched():
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            fast(**x)

    naive_s = cuda_time(fp32_one_at_a_time, repeats=repeats, warmup=2)
    kit_s = cuda_time(bf16_batched, repeats=repeats, warmup=3 if compile_model else 2)
    timings = [Timing("fp32, one clip at a time (naive)", naive_s, units_per_call=batch, unit="clip"),
               Timing(f"bf16 autocast, batch {batch}{' + torch.compile' if compile_model else ''}", kit_s,
                      units_per_call=batch, unit="clip")]
    rows = print_timings(f"{name} inference on {gpu} (CUDA events; {flops / 1e9:.1f} GFLOP per clip)", timings,
                         baseline=timings[0].name)
    peak = peak_bf16_flops(gpu)
    achieved = timings[1].throughput * flops
    mfu = achieved / peak if peak else None
    print(f"  bf16 batched: {timings[1].throughput:.1f} clips/s, {achieved / 1e12:.1f} TFLOP/s achieved"
          + (f", MFU {100 * mfu:.1f}% of {peak / 1e12:.0f} TFLOP/s dense bf16" if mfu else
             " (peak unknown for this GPU: set CLIPMG_PEAK_TFLOPS)"))
    return {"model": name, "gpu": gpu, "batch": batch, "flops_per_clip": flops, "timings": rows,
            "achieved_flops": achieved, "peak_flops": peak, "mfu": mfu,
            "speedup": ratio(timings[0], timings[1])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny-batch", type=int, default=16)
    ap.add_argument("--vitb-batch", type=int, default=2)
    ap.add_argument("--gpu-batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--compile", action="store_true", help="GPU: torch.compile the batched model")
    ap.add_argument("--quick", action="store_true", help="tiny config only on CPU, 2 rounds")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads; default: the cores other jobs leave free (cores - load average, "
                         "at least 1): OpenMP threads sharing a core with another job stall at barriers")
    args = ap.parse_args(argv)
    set_cpu_threads(args.threads)

    print("# bench_inference: clips/s of the full model, frames -> logits")
    print_machine()
    results: dict = {"cpu": [cpu_section("clipmg_tiny", args.tiny_batch, 2 if args.quick else args.repeats)]}
    if not args.quick:
        # ViT-B-16 runs ~8 s per clip here: 2 rounds, and no channels-last variant (its pose encoder is ~2% of it)
        results["cpu"].append(cpu_section("clipmg_vitb16", args.vitb_batch, 2, channels_last=False))
    results["gpu"] = [r for r in (gpu_section(n, args.gpu_batch, args.repeats, args.compile)
                                  for n in ("clipmg_tiny", "clipmg_vitb16")) if r]
    tiny = results["cpu"][0]["batched_vs_naive"]
    head = {"name": "inference clips/s, batched vs one clip at a time (tiny, CPU)", **tiny}
    if results["gpu"]:
        g = results["gpu"][-1]
        head = {"name": f"{g['model']} on {g['gpu']}: bf16 batched vs fp32 batch 1", **g["speedup"],
                "mfu": g["mfu"]}
    write_results("bench_inference", {**results, "headline": head})
    return 0


if __name__ == "__main__":
    sys.exit(main())
