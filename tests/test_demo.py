"""The demo dataset generator: layout, read-back through the real readers, determinism, design claims.

Tests that read a rendered dataset use the session's ``small_demo`` (tests/conftest.py) and are slow; the
default size is only planned here (no rendering). Orchestration tests (skip, force, resume) stub the renderer.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import decord
import numpy as np
import pandas as pd
import pytest

from clipmg_lib.core.paths import DEMO_MANIFEST_NAME
from clipmg_lib.demo import generate as demo
from clipmg_lib.data.annotations import read_label_csv, read_official_csv, write_label_csv, write_official_csv
from clipmg_lib.data.clip_index import build_clip_index
from clipmg_lib.demo.motion import (CLASS_MOTIONS, EAR, NECK, NOSE, SHOULDER, TIPS, VISIBLE, WRIST,
                                    ClipSpec, clip_drives, synthesize_video)
from clipmg_lib.data.release_files import ReleaseFiles
from clipmg_lib.data.skeleton_io import read_light_hand_csv, write_light_hand_csv
from clipmg_lib.data.splits import MIGA_VALIDATION_VIDEOS, TRAIN_SUBJECTS

SEED = 0  # the seed of the session's small_demo


def _frames_digest(path: Path) -> tuple[int, str]:
    vr = decord.VideoReader(str(path))
    h = hashlib.sha256()
    for start in range(0, len(vr), 256):
        h.update(vr.get_batch(list(range(start, min(len(vr), start + 256)))).asnumpy().tobytes())
    return len(vr), h.hexdigest()


# ------------------------------------------------------------------------------------- layout

@pytest.mark.slow
def test_layout_and_protocol(small_demo):
    layout = ReleaseFiles(small_demo)
    cfg = demo.SIZES["small"]
    assert layout.videos() == sorted(v.video for v in cfg.videos)
    for v in cfg.videos:
        assert layout.split_of_video(v.video) == v.split
        assert layout.label_csv(v.video) == layout.label_csv_path(v.video, v.split)
        assert layout.light_hand_csv(v.video) == layout.light_hand_csv_path(v.video, v.split)
        assert layout.video_path(v.video) == layout.rgb_path(v.video, v.split)
    index = build_clip_index(small_demo, "official_csv", progress=False)
    train_subjects = set(index.loc[index["split"] != "test", "subject"])
    assert train_subjects and train_subjects <= TRAIN_SUBJECTS
    assert not set(index.loc[index["split"] == "test", "subject"]) & TRAIN_SUBJECTS
    assert set(index.loc[index["split"] == "val", "video"]) <= MIGA_VALIDATION_VIDEOS
    assert not set(index.loc[index["split"] == "train", "video"]) & MIGA_VALIDATION_VIDEOS


@pytest.mark.slow
def test_official_csv_and_label_csvs_agree(small_demo):
    """Both annotation sources give the same clips and splits (folder split = protocol split)."""
    cols = ["sample_id", "video", "start_frame", "end_frame", "raw_class", "label", "split"]
    official = build_clip_index(small_demo, "official_csv", progress=False)
    per_video = build_clip_index(small_demo, "label_csv", progress=False)
    pd.testing.assert_frame_equal(official[cols].reset_index(drop=True), per_video[cols].reset_index(drop=True))


@pytest.mark.slow
def test_every_file_reads_back_unchanged(small_demo, tmp_path):
    """Read with the real readers, write again with the real writers: byte-identical files."""
    layout = ReleaseFiles(small_demo)
    official = layout.official_csv_path
    write_official_csv(tmp_path / "official.csv", read_official_csv(official))
    assert (tmp_path / "official.csv").read_bytes() == official.read_bytes()
    for vid in layout.videos():
        label = layout.label_csv(vid)
        write_label_csv(tmp_path / label.name, read_label_csv(label))
        assert (tmp_path / label.name).read_bytes() == label.read_bytes()
        skel = layout.light_hand_csv(vid)
        write_light_hand_csv(tmp_path / skel.name, read_light_hand_csv(skel))
        assert (tmp_path / skel.name).read_bytes() == skel.read_bytes()


@pytest.mark.slow
def test_videos_match_skeletons_and_clips(small_demo):
    layout = ReleaseFiles(small_demo)
    manifest = demo.read_manifest(small_demo)
    frames = {v["video"]: v["frames"] for v in manifest["videos"]}
    w, h = manifest["resolution"]
    for vid in layout.videos():
        vr = decord.VideoReader(str(layout.video_path(vid)))
        skel = read_light_hand_csv(layout.light_hand_csv(vid))
        assert len(vr) == skel.num_frames == frames[vid]
        assert vr[0].shape == (h, w, 3)
        assert vr.get_avg_fps() == pytest.approx(25.0)
        clips = read_label_csv(layout.label_csv(vid))
        assert (clips["start_frame"] >= 0).all() and (clips["end_frame"] < len(vr)).all()
        assert (np.diff(clips["start_frame"].to_numpy()) >= 0).all()  # in start order; neighbours may overlap
        xy, conf = skel.xy, skel.score
        assert ((conf > 0) == (np.abs(xy).sum(-1) > 0)).all()  # a missing joint is exactly (0, 0, 0)
        assert (conf[:, [8, 9, 10, 11, 12, 13, 14]] == 0).all()  # hips and legs hidden under the table
        seen = conf[:, [NOSE, NECK, *WRIST]] > 0
        assert 0.9 < seen.mean() < 1.0  # mostly detected, some dropped joints
        assert ((xy[..., 0] >= 0) & (xy[..., 0] < w) & (xy[..., 1] >= 0) & (xy[..., 1] < h))[conf > 0].all()
    # the rendering is checked through build_clip_index's own length checks too
    index = build_clip_index(small_demo, check_lengths=True, progress=False)
    stats = demo.overlap_statistics(index)  # the label files hold the plan's overlaps, both kinds
    assert 0 < stats["nested_share"] < 1 and stats["overlapping_clips"] > 0.1


@pytest.mark.slow
def test_rendered_person_sits_at_the_skeleton(small_demo):
    """Decoded pixels at the CSV's nose, neck and wrists differ from the empty background; far away they do not."""
    layout = ReleaseFiles(small_demo)
    for plan in demo.plan_dataset(demo.SIZES["small"], SEED):
        vid = plan.video.video
        _, scene = demo.build_video(plan)
        bg = scene.background.astype(int)
        skel = read_light_hand_csv(layout.light_hand_csv(vid))
        frames = decord.VideoReader(str(layout.video_path(vid))).get_batch(
            list(range(0, skel.num_frames, 7))).asnumpy().astype(int)
        data = skel.data[::7]
        differs = []
        for joint in (NOSE, NECK, *WRIST):
            ok = data[:, joint, 2] > 0
            x = np.round(data[ok, joint, 0]).astype(int)
            y = np.round(data[ok, joint, 1]).astype(int)
            diff = np.abs(frames[ok, y, x] - bg[y, x]).sum(-1)
            differs.append(np.mean(diff > 40))
        assert min(differs) > 0.9, (vid, differs)
        corner = np.abs(frames[:, :16, :16].mean((0, 1, 2)) - bg[:16, :16].mean((0, 1))).max()
        assert corner < 4, (vid, corner)  # mean colour: compression smooths the backdrop's noise


@pytest.mark.slow
def test_at_least_eight_classes_in_both_splits(small_demo):
    index = build_clip_index(small_demo, progress=False)
    train = set(index.loc[index["split"] != "test", "raw_class"])
    test = set(index.loc[index["split"] == "test", "raw_class"])
    assert len(train & test) >= 8
    counts = index["raw_class"].value_counts()
    assert counts.index[0] == 99


@pytest.mark.slow
def test_hat_classes_follow_the_subject(small_demo):
    index = build_clip_index(small_demo, progress=False)
    hat_videos = {v.video for v in demo.SIZES["small"].videos if v.hat}
    assert set(index.loc[index["raw_class"] == 3, "video"]) <= hat_videos
    assert not set(index.loc[index["raw_class"] == 4, "video"]) & hat_videos


# ------------------------------------------------------------------------------- determinism

@pytest.mark.slow
def test_deterministic_whatever_the_worker_count(small_demo, tmp_path):
    again = tmp_path / "again"
    demo.generate_demo(again, seed=SEED, size="small", workers=2, progress=False)
    first, second = demo.read_manifest(small_demo), demo.read_manifest(again)
    assert first == second
    for rel in first["files"]:
        if rel.endswith(".csv"):
            assert (again / rel).read_bytes() == (small_demo / rel).read_bytes(), rel
        else:
            assert _frames_digest(again / rel) == _frames_digest(small_demo / rel), rel


def test_seed_changes_the_data():
    a = demo.plan_dataset(demo.SIZES["small"], 0)
    b = demo.plan_dataset(demo.SIZES["small"], 1)
    assert [p.clips for p in a] != [p.clips for p in b]
    assert [p.clips for p in a] == [p.clips for p in demo.plan_dataset(demo.SIZES["small"], 0)]


# ---------------------------------------------------------------------------- idempotence etc.

def _stub_writer(root, plan):
    """Stands in for the renderer in orchestration tests: writes a small label CSV per video."""
    layout = ReleaseFiles(root)
    path = layout.label_csv_path(plan.video.video, plan.video.split)
    write_label_csv(path, [(c.raw_class, c.start_frame, c.end_frame) for c in plan.clips])
    return {"video": plan.video.video, "frames": plan.num_frames,
            "files": {path.relative_to(root).as_posix(): path.stat().st_size}}


def test_skips_complete_dataset_and_force_redoes(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "write_video_files", _stub_writer)
    calls = []
    monkeypatch.setattr(demo, "plan_dataset", lambda *a, _p=demo.plan_dataset: calls.append(a) or _p(*a))
    root = tmp_path / "d"
    m1 = demo.generate_demo(root, size="small", workers=1, progress=False)
    assert demo.is_complete(root, 0, "small") and len(calls) == 1
    assert demo.generate_demo(root, size="small", workers=1, progress=False) == m1 and len(calls) == 1
    demo.generate_demo(root, size="small", workers=1, progress=False, force=True)
    assert len(calls) == 2
    demo.generate_demo(root, seed=3, size="small", workers=1, progress=False)  # another seed: regenerated
    assert len(calls) == 3 and demo.is_complete(root, 3, "small") and not demo.is_complete(root, 0, "small")
    # a deleted file makes it incomplete; a rerun repairs it
    (root / next(iter(m1["files"]))).unlink()
    assert not demo.is_complete(root, 3, "small")


def test_refuses_to_overwrite_foreign_layout(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "write_video_files", _stub_writer)
    foreign = tmp_path / "real" / "imigue_data_phase1" / "datasets"
    foreign.mkdir(parents=True)
    with pytest.raises(FileExistsError, match="demo_manifest.json"):
        demo.generate_demo(tmp_path / "real", size="small", workers=1, progress=False)
    assert foreign.is_dir()
    assert demo.main(["--out", str(tmp_path / "real"), "--size", "small", "--workers", "1"]) == 2


def test_force_never_replaces_a_folder_without_the_manifest(tmp_path, monkeypatch, capsys):
    """The issue-12 accident: --force on a real root replaced its label/skeleton CSVs and deleted mediapipe_skeleton/."""
    monkeypatch.setattr(demo, "write_video_files", _stub_writer)
    root = tmp_path / "real"
    label = root / "imigue_data_phase1/datasets/imigue_skeleton_train/0298/0298_label.csv"
    label.parent.mkdir(parents=True)
    label.write_text("user data")
    (root / "mediapipe_skeleton" / "0298").mkdir(parents=True)
    with pytest.raises(FileExistsError, match=r"never replaces a dataset it did not write \(--force neither\)"):
        demo.generate_demo(root, size="small", workers=1, progress=False, force=True)
    assert demo.main(["--out", str(root), "--size", "small", "--workers", "1", "--force"]) == 2
    assert "make imigue IMIGUE=" in capsys.readouterr().err
    assert label.read_text() == "user data" and (root / "mediapipe_skeleton" / "0298").is_dir()
    assert not (root / DEMO_MANIFEST_NAME).exists()


def test_interrupted_run_is_redone_without_force(tmp_path, monkeypatch):
    def crash(root, plan):
        raise RuntimeError("interrupted")

    root = tmp_path / "d"
    monkeypatch.setattr(demo, "write_video_files", crash)
    with pytest.raises(RuntimeError):
        demo.generate_demo(root, size="small", workers=1, progress=False)
    assert not (root / DEMO_MANIFEST_NAME).exists()
    monkeypatch.setattr(demo, "write_video_files", _stub_writer)
    demo.generate_demo(root, size="small", workers=1, progress=False)
    assert demo.is_complete(root, 0, "small")


def test_unknown_size_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown demo size 'huge'"):
        demo.generate_demo(tmp_path, size="huge")


# --------------------------------------------------------------------------- design claims

def test_default_size_plan():
    cfg = demo.SIZES["default"]
    plans = demo.plan_dataset(cfg, SEED)
    clips = pd.DataFrame([{"video": p.video.video, "split": p.video.split, "raw_class": c.raw_class,
                           "length": c.end_frame - c.start_frame + 1} for p in plans for c in p.clips])
    assert 600 <= len(clips) <= 1200
    assert 35 <= clips["length"].median() <= 45  # iMiGUE: 40
    counts = clips["raw_class"].value_counts()
    assert counts.index[0] == 99 and counts.iloc[0] > 3 * counts.iloc[len(counts) // 2]  # long tail
    train = set(clips.loc[clips["split"] != "test", "raw_class"])
    test = set(clips.loc[clips["split"] == "test", "raw_class"])
    assert len(train & test) >= 12
    # more test clips than iMiGUE's 25% share: enough to tell a few points of Top-1 from noise
    test_clips = clips[clips["split"] == "test"]
    assert len(test_clips) >= 500 and test_clips["raw_class"].value_counts().min() >= 8
    val_videos = {p.video.video for p in plans if p.video.split == "val"}
    assert len(val_videos) == 2 and val_videos <= MIGA_VALIDATION_VIDEOS


def _single_clip_motion(raw_class: int, seed: int = 5):
    clips = [ClipSpec(raw_class, 30, 89)] if raw_class else []
    return synthesize_video(clips, 120, 180.0, (160.0, 94.0), np.random.default_rng(seed))


@pytest.mark.parametrize("raw_class", sorted(CLASS_MOTIONS))
def test_class_motion_stays_inside_its_clip(raw_class):
    """Compared with the same video without the clip: joints and cues change only inside the clip."""
    rest, moved = _single_clip_motion(0), _single_clip_motion(raw_class)
    disp = np.nan_to_num(np.linalg.norm(moved.joints - rest.joints, axis=-1))  # (T, V) px
    assert disp[:30].max() == 0 and disp[90:].max() == 0
    cues = ("lips_pressed", "cheeks_bulged")
    for name in cues:
        track = getattr(moved.tracks, name)
        assert track[:30].max() == 0 and track[90:].max() == 0
    spec = CLASS_MOTIONS[raw_class]
    inside = disp[30:90].max()
    if spec.modality == "rgb" and raw_class in (29, 2):
        assert inside < 2.0  # the skeleton barely moves: only the video shows it
    elif spec.modality == "pose" and raw_class != 24:
        assert 1.0 < inside < 8.0  # low amplitude, yet well above the 0.15 px detection noise
    else:
        assert inside > 8.0  # the hands travel


def test_crossing_fingers_differs_from_rubbing_hands_at_the_fingertips():
    """Both bring the hands together (alike in RGB); the fingertips tell them apart."""
    cross, rub = _single_clip_motion(24), _single_clip_motion(23)
    tips = list(TIPS[0] + TIPS[1])
    wrist_gap = np.abs(cross.joints[40:80, list(WRIST)] - rub.joints[40:80, list(WRIST)]).mean()
    tip_gap = np.abs(cross.joints[40:80, tips] - rub.joints[40:80, tips]).mean()
    assert wrist_gap < 3.0 < tip_gap


def test_rgb_only_pairs_have_identical_skeletons():
    """Pen vs rubbing hands, hat vs head: the same joints; only the rendering differs."""
    for a, b in ((26, 23), (3, 4)):
        ma, mb = _single_clip_motion(a), _single_clip_motion(b)
        np.testing.assert_array_equal(ma.joints, mb.joints)
    assert (_single_clip_motion(26).tracks.pen_hand[30:90] >= 0).all()
    assert (_single_clip_motion(23).tracks.pen_hand == -1).all()


def test_pose_only_shoulder_shake_is_small():
    rest, moved = _single_clip_motion(0), _single_clip_motion(31)
    dy = moved.joints[30:90, list(SHOULDER), 1] - rest.joints[30:90, list(SHOULDER), 1]
    assert 0.5 < np.abs(dy).max() < 2.5  # pixels at 180 px height
    hands = list(WRIST) + list(TIPS[0]) + list(TIPS[1]) + list(EAR)
    assert np.nanmax(np.abs(moved.joints[:, hands] - rest.joints[:, hands])) < 1.5


def test_docstring_table_matches_the_catalogue():
    rows = {}
    for line in demo.__doc__.splitlines():
        parts = line.split()
        if parts and parts[0].isdigit():
            rows[int(parts[0])] = line
    assert set(rows) == set(CLASS_MOTIONS)
    for raw, spec in CLASS_MOTIONS.items():
        assert rows[raw].rstrip().endswith(spec.modality), raw
        assert spec.amplitude in rows[raw] and str(spec.median_frames) in rows[raw], raw
        if spec.rgb_cue:
            assert spec.rgb_cue in rows[raw], raw


@pytest.mark.slow
def test_manifest_is_json_and_complete(small_demo):
    m = json.loads((small_demo / DEMO_MANIFEST_NAME).read_text())
    assert m["generator_version"] == demo.GENERATOR_VERSION and m["size"] == "small" and m["seed"] == SEED
    assert demo.is_complete(small_demo, SEED, "small")
    assert sum(v["clips"] for v in m["videos"]) == m["num_clips"]


# --------------------------------------------------------------------------------------- overlaps

def _plan_table(plans) -> pd.DataFrame:
    return pd.DataFrame([{"video": p.video.video, "split": p.video.split, "hat": p.video.hat, "raw_class": c.raw_class,
                          "start_frame": c.start_frame, "end_frame": c.end_frame}
                         for p in plans for c in p.clips])


@pytest.mark.parametrize("seed", [0, 1])
def test_default_size_overlaps_at_imigue_rates(seed):
    """Tolerances: +-0.04 on the share of overlapping clips (iMiGUE 0.236) and +-0.07 on the nested share
    of the pairs (0.203): the default size's 1,100 clips give ~270 pairs, binomial sd ~0.013 and ~0.025;
    seeds 0-2 measured 0.238-0.253 and 0.214-0.242. Most boundary pairs share a single frame, as in iMiGUE."""
    stats = demo.overlap_statistics(_plan_table(demo.plan_dataset(demo.SIZES["default"], seed)))
    target = demo.IMIGUE_OVERLAPS
    assert abs(stats["overlapping_clips"] - target["overlapping_clips"]) < 0.04, stats
    assert abs(stats["nested_share"] - target["nested_share"]) < 0.07, stats
    assert stats["boundary_median_frames"] <= 3, stats


def test_small_size_overlaps_too():
    stats = demo.overlap_statistics(_plan_table(demo.plan_dataset(demo.SIZES["small"], SEED)))
    assert 0.1 < stats["overlapping_clips"] < 0.4 and 0 < stats["nested_share"] < 0.5, stats


def test_overlap_statistics_by_hand():
    clips = pd.DataFrame({"video": [1, 1, 1, 1, 2, 2], "start_frame": [0, 20, 30, 50, 0, 0],
                          "end_frame": [20, 40, 35, 60, 9, 9]})
    # video 1: 0-20 / 20-40 share 1 frame (boundary), 30-35 inside 20-40 (nested); 50-60 alone;
    # video 2: two clips on the same span (nested)
    stats = demo.overlap_statistics(clips)
    assert stats == {"clips": 6, "overlapping_clips": 3 / 6, "pairs": 3, "nested_share": 2 / 3,
                     "boundary_median_frames": 1.0}


@pytest.mark.parametrize("size", ["small", "default"])
def test_overlaps_move_clips_but_keep_counts_quotas_hats_and_emotions(size):
    import dataclasses

    cfg = demo.SIZES[size]
    plans = demo.plan_dataset(cfg, SEED)
    apart = demo.plan_dataset(dataclasses.replace(cfg, overlaps=demo.OverlapModel()), SEED)
    assert demo.overlap_statistics(_plan_table(apart))["pairs"] == 0
    table = _plan_table(plans)
    assert demo.overlap_statistics(table)["pairs"] > 0
    for p, q in zip(plans, apart):  # the same clips of the same classes and lengths in each video, same emotion
        assert p.emotion == q.emotion
        assert [(c.raw_class, c.end_frame - c.start_frame) for c in p.clips] == \
               [(c.raw_class, c.end_frame - c.start_frame) for c in q.clips]
        assert 0 <= p.clips[0].start_frame and p.clips[-1].end_frame < p.num_frames
        assert max(c.end_frame for c in p.clips) < p.num_frames
    for group, n, minimum in (("train", cfg.clips_train, cfg.min_clips_per_class[0]),
                              ("test", cfg.clips_test, cfg.min_clips_per_class[1])):
        part = table[(table["split"] == "test") == (group == "test")]
        assert part["raw_class"].value_counts().to_dict() == demo.class_quotas(n, minimum)
    assert not table.loc[~table["hat"], "raw_class"].isin([3]).any()
    assert not table.loc[table["hat"], "raw_class"].isin([4]).any()


def test_nested_clips_sit_inside_on_other_body_parts():
    plans = demo.plan_dataset(demo.SIZES["default"], SEED)
    nested = boundary = 0
    for p in plans:
        starts = [c.start_frame for c in p.clips]
        assert starts == sorted(starts)
        for i, a in enumerate(p.clips):
            for b in p.clips[i + 1:]:
                if b.start_frame > a.end_frame:
                    continue
                if b.end_frame <= a.end_frame:  # nested: strictly inside, disjoint body parts, hands fixed
                    nested += 1
                    assert a.start_frame < b.start_frame and b.end_frame < a.end_frame
                    assert not clip_drives(a.raw_class, a.hand) & clip_drives(b.raw_class, b.hand)
                    for c in (a, b):
                        assert (c.hand is not None) == ("hand" in CLASS_MOTIONS[c.raw_class].drives)
                else:  # boundary: shares frames but each clip keeps frames of its own
                    boundary += 1
                    assert a.start_frame < b.start_frame and a.end_frame < b.end_frame
    assert nested > 20 and boundary > 100


def test_plan_with_overlaps_is_deterministic():
    a = demo.plan_dataset(demo.SIZES["default"], SEED)
    assert [p.clips for p in a] == [p.clips for p in demo.plan_dataset(demo.SIZES["default"], SEED)]
    assert [p.clips for p in a] != [p.clips for p in demo.plan_dataset(demo.SIZES["default"], SEED + 1)]
    # each video's overlaps come from its own stream: its timeline is a function of its dealt classes alone
    for p in a:
        assert demo._lay_out(demo.SIZES["default"], SEED, p.video.video, [c.raw_class for c in p.clips]) == \
               (p.clips, p.num_frames)


def _steps(joints: np.ndarray, js: list[int]) -> np.ndarray:
    """(T-1,) the largest per-frame move of the joints ``js`` from frame t to t+1, px."""
    return np.linalg.norm(np.diff(joints[:, js], axis=0), axis=-1).max(1)


@pytest.mark.parametrize("size", ["small", "default"])
def test_no_joint_jumps_where_clips_overlap(size):
    """The bound: over a whole plan, the largest per-frame step of any visible joint in and around the frames
    two clips share stays within the largest step the joints make anywhere else (rest, and single clips at
    full speed: an 8-frame clip reaching the head moves a wrist ~65 px in one frame at 180 px height; the
    two-link IK's switch between its two elbow solutions is another such step). Measured: 19 / 55 px in
    overlaps against 43 / 70 px elsewhere (small / default). A later clip overwriting the earlier one's hand
    tracks (the generator before overlaps, on the same plans) jumps 90 px in the default plan's overlaps (the
    small plan, with 17 pairs, happens not to show it: 22 px)."""
    js = list(VISIBLE)
    inside, outside = 0.0, 0.0
    for p in demo.plan_dataset(demo.SIZES[size], SEED):
        m = synthesize_video(p.clips, p.num_frames, 180.0, (160.0, 94.0), np.random.default_rng([SEED, p.video.video]))
        step = _steps(m.joints, js)
        shared = np.zeros(len(step), bool)
        for i, a in enumerate(p.clips):
            for b in p.clips[i + 1:]:
                lo, hi = max(a.start_frame, b.start_frame), min(a.end_frame, b.end_frame)
                if lo <= hi:
                    shared[max(lo - 1, 0):hi + 1] = True  # the steps into, across and out of the shared frames
        if shared.any():
            inside = max(inside, float(step[shared].max()))
        outside = max(outside, float(step[~shared].max()))
    assert inside > 0 and inside <= outside, (inside, outside)


def test_nested_clip_moves_its_own_body_parts_only():
    """Rubbing hands with a shoulder shake inside: the hands move exactly as without the shake, the
    shoulders shake only within the inner clip: both gestures stay visible."""
    outer = ClipSpec(23, 30, 109)
    alone = synthesize_video([outer], 140, 180.0, (160.0, 94.0), np.random.default_rng(5))
    both = synthesize_video([outer, ClipSpec(31, 50, 79)], 140, 180.0, (160.0, 94.0), np.random.default_rng(5))
    hands = list(WRIST) + list(TIPS[0]) + list(TIPS[1])
    np.testing.assert_allclose(both.joints[:, hands], alone.joints[:, hands], atol=1e-9)
    dy = np.abs(both.joints[:, list(SHOULDER), 1] - alone.joints[:, list(SHOULDER), 1]).max(1)
    assert dy[:50].max() == 0 and dy[80:].max() == 0 and 0.5 < dy[50:80].max() < 2.5
    assert np.abs(alone.joints[50:80, list(WRIST)] - alone.joints[0, list(WRIST)]).max() > 8.0  # hands away from rest
