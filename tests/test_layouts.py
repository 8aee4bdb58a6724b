"""Class table, splits, joint layouts and the Skeleton type."""
from __future__ import annotations

import numpy as np
import pytest

from clipmg_lib.data import classes, joint_layouts, splits
from clipmg_lib.data.skeleton import Skeleton, SkeletonFileError


def test_miga_label_convention():
    assert classes.raw_to_label(1) == 0
    assert classes.raw_to_label(31) == 30
    assert classes.raw_to_label(99) == 31
    np.testing.assert_array_equal(classes.label_to_raw(classes.raw_to_label([5, 99, 2])), [5, 99, 2])
    assert len(classes.class_names()) == classes.NUM_CLASSES == 32
    assert classes.class_names()[31] == "Illustrative body language"


def test_unknown_class_names_source():
    with pytest.raises(classes.UnknownClassError, match=r"a\.csv: unknown iMiGUE class id\(s\) \[0, 32\]"):
        classes.raw_to_label([3, 32, 0], source="a.csv")


def test_cross_subject_split_sizes():
    assert len(splits.TRAIN_SUBJECTS) == 37
    assert splits.NUM_SUBJECTS - len(splits.TRAIN_SUBJECTS) == 35
    assert splits.clip_split(22, 298) == "train"
    assert splits.clip_split(2, 3) == "val"  # MiGA validation video of a training subject
    assert splits.clip_split(2, 3, miga_validation=False) == "train"
    assert splits.clip_split(1, 371) == "test"


def test_layout_sizes_and_subsets():
    assert joint_layouts.get_layout("openpose137").num_joints == 137
    assert joint_layouts.get_layout("light_hand35").num_joints == 35
    assert joint_layouts.get_layout("openpose22").num_joints == 22
    x = np.random.default_rng(0).random((4, 137, 3))
    via35 = joint_layouts.convert(joint_layouts.convert(x, "openpose137", "light_hand35"), "light_hand35", "openpose22")
    np.testing.assert_array_equal(via35, joint_layouts.convert(x, "openpose137", "openpose22"))
    with pytest.raises(ValueError, match="lacks"):
        joint_layouts.conversion_index("openpose22", "light_hand35")


def test_light_hand_release_names_vs_person_sides():
    lh = joint_layouts.get_layout("light_hand35")
    # BODY_25 order: release name "ShoulderLeft" sits where OpenPose has RShoulder (person's right)
    assert lh.openpose_names[lh.index("ShoulderLeft")] == "RShoulder"
    assert lh.sides[lh.index("ShoulderLeft")] == "R"
    # fingertips: RightFinger* are the tips of OpenPose's right hand, attached to the right wrist
    assert lh.sides[lh.index("RightFinger1")] == "R"
    assert (lh.index("RWrist"), lh.index("RightFinger1")) in lh.limbs


@pytest.mark.parametrize("name", sorted(joint_layouts.LAYOUTS))
def test_flip_index_is_an_involution_that_swaps_sides(name):
    lay = joint_layouts.get_layout(name)
    perm = lay.flip_index
    np.testing.assert_array_equal(perm[perm], np.arange(lay.num_joints))
    sides = np.array(lay.sides)
    swapped = {"L": "R", "R": "L", "C": "C"}
    assert all(sides[perm[i]] == swapped[s] for i, s in enumerate(sides) if not lay.names[i].startswith("Face"))


def test_skeleton_checks_shape_and_slices_inclusively():
    sk = Skeleton(np.zeros((10, 35, 3)), "light_hand35", source="x.csv")
    assert sk.frames(2, 9).num_frames == 8
    assert sk.to("openpose22").data.shape == (10, 22, 3)
    with pytest.raises(IndexError, match="x.csv: frame range 5..10 outside 0..9"):
        sk.frames(5, 10)
    with pytest.raises(SkeletonFileError, match="x.csv: expected shape"):
        Skeleton(np.zeros((10, 22, 3)), "light_hand35", source="x.csv")
