"""mediapipe extraction: on a real photo and a real-photo video; joint sides; empty frames; cache and resume."""
from __future__ import annotations

import numpy as np
import pytest

from clipmg_lib.data.joint_layouts import get_layout
from clipmg_lib.data.decoders import VideoFileError
from clipmg_lib.data.skeleton_io import read_light_hand_csv
from clipmg_lib.data.release_files import mediapipe_csv_path
from clipmg_lib.pose import extract as ex
from clipmg_lib.pose import mediapipe_pose as mpp
from clipmg_lib.pose.video_chunks import extract_video
from clipmg_lib.pose.sample_media import person_photo, write_person_video

pytestmark = pytest.mark.slow  # mediapipe graphs on real footage: 2-70 s per test on 2 cores

LAYOUT = get_layout("light_hand35")
J = {name: LAYOUT.openpose_names.index(name) for name in ("Nose", "Neck", "RShoulder", "LShoulder", "REye", "LEye",
                                                           "REar", "LEar")}


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return person_photo()


@pytest.fixture(scope="module")
def photo_skeleton(photo):
    return mpp.extract_image(photo)


@pytest.fixture(scope="module")
def person_video(tmp_path_factory):
    """A 24-frame pan/zoom video of the real photo (256x300) and its per-frame affines (photo -> frame)."""
    folder = tmp_path_factory.mktemp("videos")
    path, mats = write_person_video(folder / "7.mp4", num_frames=24, out_size=(256, 300))
    return path, mats


def test_landmarks_fall_on_the_person(photo, photo_skeleton):
    h, w = photo.shape[:2]
    xy, conf = photo_skeleton.xy[0], photo_skeleton.score[0]
    assert photo_skeleton.layout == "light_hand35" and photo_skeleton.img_shape == (h, w)
    for name in J:
        assert conf[J[name]] > 0.5, f"{name} not found on the portrait"
        assert 0 <= xy[J[name], 0] < w and 0 <= xy[J[name], 1] < h
    nose, neck = xy[J["Nose"]], xy[J["Neck"]]
    r_sh, l_sh = xy[J["RShoulder"]], xy[J["LShoulder"]]
    assert nose[1] < min(r_sh[1], l_sh[1]) - 0.1 * h, "the nose must be well above the shoulders"
    assert abs(l_sh[0] - r_sh[0]) > 0.4 * w, "the shoulders must be far apart on a head-and-shoulders portrait"
    assert np.allclose(neck, (r_sh + l_sh) / 2, atol=1e-3), "Neck is the mid-point of the shoulders"
    # the face is in the upper half, the eyes above the nose
    assert xy[J["REye"], 1] < nose[1] and xy[J["LEye"], 1] < nose[1] and nose[1] < h / 2


def test_person_left_stays_left(photo_skeleton):
    """She faces the camera: her left shoulder is on the image's right, and lands on an 'L' joint."""
    xy = photo_skeleton.xy[0]
    left = J["LShoulder"]
    assert LAYOUT.sides[left] == "L"
    assert LAYOUT.names[left] == "ShoulderRight"  # the release's mirrored name for the same joint
    assert xy[left, 0] > xy[J["Nose"], 0] > xy[J["RShoulder"], 0]
    assert LAYOUT.sides[J["LEye"]] == "L" and xy[J["LEye"], 0] > xy[J["REye"], 0]
    assert LAYOUT.sides[J["LEar"]] == "L" and xy[J["LEar"], 0] > xy[J["REar"], 0]


def test_every_joint_maps_onto_its_own_side():
    """The mediapipe -> BODY_25 table keeps sides: LEFT_* only on 'L' joints, RIGHT_* only on 'R'."""
    for j, op_name in enumerate(LAYOUT.openpose_names[:25]):
        sources = mpp.BODY25_FROM_MEDIAPIPE[op_name]
        sides = {s.split("_")[0] for s in sources}
        expected = {"L": {"LEFT"}, "R": {"RIGHT"}}.get(LAYOUT.sides[j])
        if expected is not None and sources:
            assert sides == expected, f"{op_name} ({LAYOUT.sides[j]}) takes {sources}"


def test_openpose22_conversion(photo_skeleton):
    op22 = photo_skeleton.to("openpose22")
    assert op22.data.shape == (1, 22, 3)
    assert np.array_equal(op22.data[0, 0], photo_skeleton.data[0, J["Nose"]])


@pytest.mark.parametrize("kind", ["uniform", "noise"])
def test_no_person_gives_zeros_without_error(kind):
    rng = np.random.default_rng(0)
    img = (np.full((240, 320, 3), 128, np.uint8) if kind == "uniform"
           else rng.integers(0, 256, (240, 320, 3), dtype=np.uint8))
    sk = mpp.extract_image(img)
    assert sk.data.shape == (1, 35, 3)
    assert not sk.data.any(), "an empty image must give all joints missing (0, 0, 0)"


def test_missing_joints_are_exact_zeros(photo_skeleton):
    data = photo_skeleton.data[0]
    missing = data[:, 2] == 0
    assert missing.any() and not data[missing].any()
    assert not missing[[J["LShoulder"], J["RShoulder"]]].any()
    small_toes = [LAYOUT.openpose_names.index(n) for n in ("LSmallToe", "RSmallToe")]
    assert missing[small_toes].all(), "mediapipe has no small toe"


@pytest.mark.parametrize("complexity", [0, 2])
def test_model_complexity_other_than_bundled_is_refused(complexity):
    with pytest.raises(ValueError, match="download"):
        mpp.ExtractorConfig(model_complexity=complexity)


def test_video_landmarks_follow_the_camera(photo_skeleton, person_video):
    """Joints found in the pan/zoom video sit where the photo's joints land under each frame's affine."""
    path, mats = person_video
    sk = extract_video(path, progress=False, chunk_size=8)
    assert sk.data.shape == (24, 35, 3) and sk.img_shape == (300, 256)
    xy0, c0 = photo_skeleton.xy[0], photo_skeleton.score[0]
    expected = np.einsum("tij,vj->tvi", mats[:, :, :2], xy0) + mats[:, None, :, 2]
    sure = (sk.score > 0.5) & (c0[None] > 0.5)
    assert sure.sum() >= 24 * 6
    err = np.linalg.norm(sk.xy - expected, axis=-1)[sure]
    shoulder = np.linalg.norm(expected[:, J["LShoulder"]] - expected[:, J["RShoulder"]], axis=-1).mean()
    assert np.median(err) < 0.08 * shoulder, f"median error {np.median(err):.1f} px (shoulders {shoulder:.0f} px)"


def test_decoding_smaller_keeps_original_pixels(person_video):
    path, _ = person_video
    full = extract_video(path, progress=False, max_frames=8)
    small = extract_video(path, progress=False, max_frames=8, decode_max_side=150)
    assert small.img_shape == full.img_shape == (300, 256)
    sure = (full.score > 0.8) & (small.score > 0.8)
    assert sure.sum() > 20
    assert np.median(np.abs(full.xy - small.xy)[sure]) < 4.0


def test_corrupt_video_error_names_the_file(tmp_path):
    bad = tmp_path / "12.mp4"
    bad.write_bytes(b"\x00\x01 not an mp4 at all" * 10)
    with pytest.raises(VideoFileError, match="12.mp4"):
        extract_video(bad, progress=False)
    with pytest.raises(FileNotFoundError, match="13.mp4"):
        extract_video(tmp_path / "13.mp4", progress=False)


def test_video_keys_are_stems_and_ids_come_from_a_mapping(tmp_path):
    (tmp_path / "a" / "298").mkdir(parents=True)
    (tmp_path / "a" / "298" / "298.mp4").write_bytes(b"")
    (tmp_path / "0007.mp4").write_bytes(b"")
    (tmp_path / "carphone_pristine.MOV").write_bytes(b"")
    assert list(ex.find_videos(tmp_path)) == ["0007", "298", "carphone_pristine"]   # any name, never an id
    assert list(ex.find_videos(tmp_path / "carphone_pristine.MOV")) == ["carphone_pristine"]  # a single file
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "0007.mp4").write_bytes(b"")
    with pytest.raises(ValueError, match=r"two videos named '0007'.*--ids"):
        ex.find_videos(tmp_path)
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        ex.find_videos([tmp_path / "nope.mp4"])
    (tmp_path / "ids.csv").write_text("video,path\n298,a/298/298.mp4\n5,carphone_pristine.MOV\n")
    assert ex.read_id_mapping(tmp_path / "ids.csv") == {5: tmp_path / "carphone_pristine.MOV",
                                                        298: tmp_path / "a/298/298.mp4"}
    (tmp_path / "bad.csv").write_text("video,path\nx,a.mp4\n")
    with pytest.raises(ValueError, match=r"bad.csv: not a usable video id mapping \(video id 'x'"):
        ex.read_id_mapping(tmp_path / "bad.csv")
    assert mediapipe_csv_path(tmp_path, 298) == tmp_path / "0298" / "0298_light_hand.csv"
    assert mediapipe_csv_path(tmp_path, "my clip") == tmp_path / "my clip" / "my clip_light_hand.csv"


_PROCESS = mpp.PoseExtractor.process


class SimulatedKill(Exception):
    pass


class _StopAfter:
    """Wraps PoseExtractor.process: counts frames and raises after ``limit`` (a simulated kill)."""

    def __init__(self, limit: int | None) -> None:
        self.limit, self.calls = limit, 0

    def __get__(self, extractor, owner=None):  # bind like a method when set on the class
        return lambda rgb, img_shape=None: self(extractor, rgb, img_shape)

    def __call__(self, extractor, rgb, img_shape=None):
        if self.limit is not None and self.calls >= self.limit:
            raise SimulatedKill(f"stopped after {self.calls} frames")
        self.calls += 1
        return _PROCESS(extractor, rgb, img_shape)


def test_folder_extraction_resumes_and_equals_an_uninterrupted_run(tmp_path, person_video, monkeypatch):
    path, _ = person_video
    videos = {7: path, 9: path}  # two videos; the second is interrupted midway
    reference = ex.extract_folder(videos, tmp_path / "ref", chunk_size=8, progress=False)
    assert list(reference["status"]) == ["extracted", "extracted"]

    out = tmp_path / "run"
    stop = _StopAfter(24 + 19)  # all of video 7, then two chunks of 8 and 3 frames of video 9
    monkeypatch.setattr(mpp.PoseExtractor, "process", stop)
    with pytest.raises(SimulatedKill):
        ex.extract_folder(videos, out, chunk_size=8, progress=False)
    assert mediapipe_csv_path(out, 7).exists() and not mediapipe_csv_path(out, 9).exists()
    ckpt = ex.checkpoint_dir_for(out, 9)
    assert sorted(p.name for p in ckpt.glob("chunk_*.npy")) == ["chunk_0000000.npy", "chunk_0000008.npy"]

    resumed = _StopAfter(None)
    monkeypatch.setattr(mpp.PoseExtractor, "process", resumed)
    table = ex.extract_folder(videos, out, chunk_size=8, progress=False)
    assert list(table["status"]) == ["skipped", "extracted"]
    assert resumed.calls == 8, "only the unfinished chunk of video 9 is processed again"
    assert not ckpt.exists(), "checkpoints are removed once the CSV is written"
    for vid in videos:
        a = read_light_hand_csv(mediapipe_csv_path(tmp_path / "ref", vid)).data
        b = read_light_hand_csv(mediapipe_csv_path(out, vid)).data
        assert np.array_equal(a, b), f"video {vid}: resumed result differs from the uninterrupted run"

    again = _StopAfter(None)
    monkeypatch.setattr(mpp.PoseExtractor, "process", again)
    assert list(ex.extract_folder(videos, out, chunk_size=8, progress=False)["status"]) == ["skipped", "skipped"]
    assert again.calls == 0


def test_checkpoints_of_other_settings_are_discarded(tmp_path, person_video, monkeypatch):
    path, _ = person_video
    ckpt = tmp_path / "ckpt"
    first = extract_video(path, progress=False, chunk_size=8, checkpoint_dir=ckpt, max_frames=16)
    assert len(list(ckpt.glob("chunk_*.npy"))) == 2
    counter = _StopAfter(None)
    monkeypatch.setattr(mpp.PoseExtractor, "process", counter)
    same = extract_video(path, progress=False, chunk_size=8, checkpoint_dir=ckpt, max_frames=16)
    assert counter.calls == 0 and np.array_equal(first.data, same.data), "same settings: reuse the chunks"
    other = extract_video(path, progress=False, chunk_size=8, checkpoint_dir=ckpt, max_frames=16,
                             min_joint_confidence=0.9)
    assert counter.calls == 16, "other settings: the saved chunks must not be reused"
    assert (other.score[other.score > 0] >= 0.9).all()


def test_hands_join_the_nearest_wrist_of_the_same_person():
    """Detected hands are assigned to the pose wrist they start at, one hand per wrist, within reach."""
    import mediapipe as mp

    lm_names = mp.solutions.pose.PoseLandmark
    lm = np.zeros((33, 3))
    lm[lm_names.LEFT_SHOULDER, :2], lm[lm_names.RIGHT_SHOULDER, :2] = (300, 200), (100, 200)   # width 200
    lm[lm_names.LEFT_WRIST, :2], lm[lm_names.RIGHT_WRIST, :2] = (320, 400), (80, 400)

    def hand(x, y):
        pts = np.zeros((21, 2))
        pts[0] = (x, y)
        return pts

    with mpp.PoseExtractor(static_image_mode=True) as extractor:
        match = extractor._match_hands_to_wrists
        assert match([hand(85, 395), hand(318, 410)], lm) == ["R", "L"]
        assert match([hand(318, 410), hand(300, 420)], lm) == ["L", None], "one hand per wrist"
        assert match([hand(700, 400)], lm) == [None], "a hand far from both wrists belongs to nobody"


def test_hands_model_runs_only_when_pose_sees_a_hand(photo):
    """Her hands are out of the portrait: the costly Hands model must not run at all."""
    calls = []
    with mpp.PoseExtractor(static_image_mode=True) as extractor:
        real = extractor._hands.process
        extractor._hands.process = lambda rgb: calls.append(1) or real(rgb)
        extractor.process(photo)
        assert calls == []
        extractor.config = mpp.ExtractorConfig(static_image_mode=True, hand_gate=0.0)
        extractor.process(photo)
        assert calls == [1]


def test_extract_frames_equals_one_chunk_of_the_video(person_video):
    from clipmg_lib.data.video import ClipReader

    path, _ = person_video
    frames = ClipReader(size=None).read(path, np.arange(24))
    direct = mpp.extract_frames(frames)
    assert np.array_equal(direct.data, extract_video(path, progress=False, chunk_size=24).data)


def test_parallel_workers_give_the_same_files(tmp_path, person_video):
    path, _ = person_video
    videos = {3: path, 4: path}
    serial = ex.extract_folder(videos, tmp_path / "serial", chunk_size=8, progress=False)
    parallel = ex.extract_folder(videos, tmp_path / "parallel", chunk_size=8, workers=2, progress=False)
    assert list(parallel["video"]) == [3, 4] and list(parallel["status"]) == ["extracted", "extracted"]
    for vid in videos:
        a = mediapipe_csv_path(tmp_path / "serial", vid).read_bytes()
        assert a == mediapipe_csv_path(tmp_path / "parallel", vid).read_bytes()
    assert list(serial["frames"]) == [24, 24]


def test_a_csv_under_the_unpadded_name_also_counts_as_done(tmp_path, person_video):
    path, _ = person_video
    old = tmp_path / "0007" / "7_light_hand.csv"
    old.parent.mkdir(parents=True)
    old.write_text("written by an earlier run\n")
    table = ex.extract_folder({7: path}, tmp_path, progress=False)
    assert list(table["status"]) == ["skipped"] and table["csv"][0] == str(old)
    assert mediapipe_csv_path(tmp_path, 7).name == "0007_light_hand.csv"


def test_a_corrupt_video_fails_alone_with_keep_going(tmp_path, person_video):
    path, _ = person_video
    bad = tmp_path / "videos" / "5.mp4"
    bad.parent.mkdir()
    bad.write_bytes(b"garbage" * 50)
    with pytest.raises(VideoFileError, match="5.mp4"):
        ex.extract_folder({5: bad, 7: path}, tmp_path / "out", chunk_size=8, progress=False)
    table = ex.extract_folder({5: bad, 7: path}, tmp_path / "out", chunk_size=8, progress=False, keep_going=True)
    assert table["status"][0].startswith("failed: ") and "5.mp4" in table["status"][0]
    assert table["status"][1] == "extracted" and mediapipe_csv_path(tmp_path / "out", 7).exists()
