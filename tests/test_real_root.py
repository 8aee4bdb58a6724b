"""A dataset root the kit did not write is read-only: every file of it is hashed before and after the CLIs and the
whole chain (every notebook, tiny settings) run on it (they write only to their output folders; where the tests
run as non-root, the root is also made read-only with chmod, so a write attempt fails loudly). On the run trained there,
``python -m clipmg_lib.runs.predict`` names the top-5 classes of a real video of a real person (any name, frame rate
and size), of a window of a dataset video, and of a real photo.

The root is built by the kit's own writers (a copy of the small demo, its manifest removed, so that nothing marks it as
the kit's) plus the real OpenPose JSON folder of iMiGUE video 298 where ``../shared`` has it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clipmg_lib.core.paths import DEMO_MANIFEST_NAME
from clipmg_lib.demo import generate as demo
from clipmg_lib.data.clip_index import build_clip_index
from clipmg_lib.data.release_files import ReleaseFiles

import deadline_subprocess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # the module fixture trains a run and runs the chain
REPO = Path(__file__).resolve().parent.parent

#: The chain's tiny settings on the small demo's videos (train 118, 73; val 1; test 52, 233): one epoch per run.
CHAIN_TINY = ["epochs=1", "max_clips=16", "num_clips=4", "max_extract_frames=8", "eval_views=1", "n_boot=200",
              "train_videos=[118, 73]", "val_videos=[1]", "test_videos=[52, 233]", "timeline_seconds=20"]


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file and a marker for every folder under ``root`` (relative paths)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "<dir>"
    return out


@pytest.fixture(scope="module")
def real_root(small_demo, tmp_path_factory):
    """(root, its hashes before anything ran): a copy of the session's small demo without its manifest."""
    root = tmp_path_factory.mktemp("imigue_real_layout")
    shutil.copytree(small_demo, root, dirs_exist_ok=True)
    (root / DEMO_MANIFEST_NAME).unlink()           # now nothing says the kit wrote it
    shared = REPO.parent / "shared" / "imigue" / "openpose_298.tar.gz"
    if shared.is_file():
        dest = root / "Data" / "skeleton" / "raw"
        dest.mkdir(parents=True)
        with tarfile.open(shared) as tar:
            tar.extractall(dest, filter="data")
    for p in root.rglob("*"):
        os.chmod(p, 0o555 if p.is_dir() else 0o444)  # a write attempt fails loudly, not only in the hashes
    os.chmod(root, 0o555)
    return root, tree_hashes(root)


@pytest.fixture(scope="module")
def workspace(real_root, tmp_path_factory):
    """Runs the CLIs on the read-only root with every output under tmp; returns what they returned."""
    root, _ = real_root
    work = tmp_path_factory.mktemp("work")
    env = {"CLIPMG_CACHE_DIR": str(work / "cache"), "CLIPMG_RESULTS_DIR": str(work / "results"),
           "HF_HUB_OFFLINE": "1"}
    from clipmg_lib.pose.__main__ import main as pose_main
    from clipmg_lib.runs.predict import main as predict_main
    from clipmg_lib.runs.train import main as train_main

    layout = ReleaseFiles(root)
    shortest = min(layout.videos(), key=lambda v: layout.video_path(v).stat().st_size)
    index = build_clip_index(root, progress=False)
    clip = index[index["video"] == shortest].iloc[0]
    out = {"video": shortest, "clip": clip}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        out["demo_force_rc"] = demo.main(["--out", str(root), "--size", "small", "--workers", "1", "--force"])
        out["extract_rc"] = pose_main(["--dataset-root", str(root), "--only", str(shortest)])
        out["mediapipe_csv"] = layout.mediapipe_light_hand_csv(shortest)
        from clipmg_lib.data.convert import main as convert_main

        out["convert_rc"] = convert_main(["--root", str(root)])   # the 298 JSON folder, when present
        out["train_rc"] = train_main(["--config", "tiny_demo", "--dataset-root", str(root), "--out",
                                      str(work / "run"), "--set", "epochs=1", "--quiet"])
        out["predict_rc"] = predict_main([str(layout.video_path(shortest)), "--run", str(work / "run"),
                                          "--start", str(clip.start_frame / 25), "--end", str((clip.end_frame + 1) / 25),
                                          "--out", str(work / "clip.csv"), "--quiet"])
        # every notebook of the chain, on tiny settings, with caches of its own (built from the root, not reused)
        chain_env = {**os.environ, **env, "CLIPMG_CACHE_DIR": str(work / "chain_cache")}
        out["chain"] = deadline_subprocess.run([sys.executable, "-m", "clipmg_lib.runs.chain", "--dataset-root", str(root),
                                                "--results", str(work / "chain"), "--cell-timeout", "300",
                                                *[a for p in CHAIN_TINY for a in ("-p", p)]],
                                               env=chain_env, timeout=900)
    out["work"], out["env"] = work, env
    return out


def test_the_kit_never_writes_in_a_root_it_did_not_generate(real_root, workspace):
    root, before = real_root
    assert workspace["demo_force_rc"] == 2                   # --force refused: no manifest
    assert workspace["extract_rc"] == 0 and workspace["train_rc"] == 0 and workspace["predict_rc"] == 0
    assert workspace["convert_rc"] == 0
    assert workspace["chain"].returncode == 0, workspace["chain"].stderr[-3000:]
    from clipmg_lib.runs.chain import discover_notebooks

    timing = pd.read_csv(workspace["work"] / "chain" / "chain_timing.csv")
    assert list(timing["notebook"]) == [nb.name for nb in discover_notebooks()] + ["TOTAL"]  # the whole chain ran
    assert (timing["status"] == "ok").all()
    assert (workspace["work"] / "chain" / "ablations.csv").is_file()   # its results went to the output folder
    assert tree_hashes(root) == before                       # every file and folder unchanged, none added
    csv = Path(workspace["mediapipe_csv"])
    assert csv.is_relative_to(workspace["work"] / "cache" / "mediapipe_skeleton")  # the pose went outside
    if (root / "Data" / "skeleton" / "raw").is_dir():
        assert any(k.startswith("Data/skeleton/raw/") for k in before)


def test_predict_a_window_of_a_dataset_video(workspace):
    table = pd.read_csv(workspace["work"] / "clip.csv")
    clip = workspace["clip"]
    assert list(table["rank"]) == [1, 2, 3, 4, 5]
    assert (table["start_frame"] == clip.start_frame).all() and (table["end_frame"] == clip.end_frame).all()
    assert np.all(np.diff(table["probability"]) <= 0) and 0 < table["probability"].sum() <= 1.0001


def test_predict_matches_the_runs_own_evaluation(workspace, real_root, monkeypatch):
    """With the dataset's skeleton in place of mediapipe's, predict_file gives the probabilities the run's
    cached evaluation saved for that clip: frames, heatmaps and views are built the same way."""
    import torch

    from clipmg_lib.runs import predict as P
    from clipmg_lib.data.skeleton_io import read_skeleton
    from clipmg_lib.eval.predictions import Predictions

    root, _ = real_root
    layout = ReleaseFiles(root)
    preds = Predictions.load(workspace["work"] / "run" / "predictions_test.npz")
    sid = preds.sample_ids[0]
    vid = int(sid.split("_")[0])
    index = build_clip_index(root, progress=False).set_index("sample_id")
    clip = index.loc[sid]
    monkeypatch.setattr(P, "video_skeleton", lambda path, *a, **k: (read_skeleton(layout.skeleton_path(vid)), None, 0))
    for k, v in workspace["env"].items():
        monkeypatch.setenv(k, v)
    got = P.predict_file(layout.video_path(vid), workspace["work"] / "run", start=clip.start_frame / 25,
                         end=(clip.end_frame + 1) / 25, topk=32)
    assert (got.start_frame, got.end_frame) == (clip.start_frame, clip.end_frame)
    expected = torch.softmax(torch.as_tensor(preds.logits[0]).float(), -1).numpy()
    np.testing.assert_allclose(got.probabilities, expected, atol=2e-3)  # tokens are cached as float16
    from_checkpoint = P.predict_file(layout.video_path(vid), workspace["work"] / "run" / "best.pt",
                                     start=clip.start_frame / 25, end=(clip.end_frame + 1) / 25, topk=32)
    np.testing.assert_allclose(from_checkpoint.probabilities, got.probabilities, rtol=0, atol=1e-6)


def test_predict_cli_on_a_real_video_and_photo(workspace, tmp_path, monkeypatch, capsys):
    """A real person (matplotlib's Grace Hopper photo under a pan/zoom camera), 30 fps, 640x360, a file name
    with a space and a .mov suffix; then the photo itself."""
    from clipmg_lib.runs import predict as P
    from clipmg_lib.pose import extract, mediapipe_pose
    from clipmg_lib.pose.sample_media import person_photo, write_person_video

    for k, v in workspace["env"].items():
        monkeypatch.setenv(k, v)
    video, _ = write_person_video(tmp_path / "press talk.mov", num_frames=40, out_size=(640, 360), fps=30)
    run = str(workspace["work"] / "run")
    assert P.main([str(video), "--run", run, "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "frames 0..39 of 40 (0.00-1.33 s at 30 fps)" in printed
    result = json.loads((workspace["work"] / "results" / "predict" / "press talk.json").read_text())
    assert [r["rank"] for r in result["topk"]] == [1, 2, 3, 4, 5]
    assert result["topk"][0]["class"] in printed
    assert Path(result["skeleton_csv"]).is_file()
    # a window is extracted alone (frames 15..39 of 40), and a second call on it reads the cache
    assert P.main([str(video), "--run", run, "--start", "0.5", "--quiet", "--out", str(tmp_path / "w.json")]) == 0
    window = json.loads((tmp_path / "w.json").read_text())
    assert (window["start_frame"], window["end_frame"]) == (15, 39) and window["skeleton_csv"].endswith("_15-39_light_hand.csv")
    assert len(pd.read_csv(window["skeleton_csv"])) == 25
    monkeypatch.setattr(extract, "extract_video", lambda *a, **k: pytest.fail("pose extracted twice"))
    monkeypatch.setattr(mediapipe_pose.PoseExtractor, "process", lambda *a, **k: pytest.fail("pose extracted twice"))
    assert P.main([str(video), "--run", run, "--quiet", "--out", str(tmp_path / "again.json")]) == 0
    assert P.main([str(video), "--run", run, "--start", "0.5", "--quiet", "--out", str(tmp_path / "w2.json")]) == 0
    assert json.loads((tmp_path / "w2.json").read_text())["topk"] == window["topk"]
    monkeypatch.undo()
    for k, v in workspace["env"].items():
        monkeypatch.setenv(k, v)
    from PIL import Image

    Image.fromarray(person_photo()).save(tmp_path / "portrait.jpg")
    assert P.main([str(tmp_path / "portrait.jpg"), "--run", run, "--topk", "3", "--quiet",
                   "--out", str(tmp_path / "p.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "p.csv")) == 3


def test_predict_errors_name_the_file(workspace, tmp_path, capsys):
    from clipmg_lib.runs import predict as P
    from clipmg_lib.pose.sample_media import write_person_video

    run = str(workspace["work"] / "run")
    video, _ = write_person_video(tmp_path / "v.mp4", num_frames=20, out_size=(320, 180), fps=25)
    assert P.main([str(video), "--run", run, "--start", "5"]) == 2
    assert f"{video}: --start 5.0 s is outside the file (0 to 0.800 s, 20 frames at 25 fps)" in capsys.readouterr().err
    assert P.main([str(video), "--run", str(tmp_path)]) == 2
    assert "not a training run folder (no train_config.json)" in capsys.readouterr().err
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video" * 100)
    assert P.main([str(bad), "--run", run]) == 2
    assert f"{bad}: cannot open as a video" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        P.main(["--help"])
    assert "--start" in capsys.readouterr().out
