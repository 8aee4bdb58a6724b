"""The dataset as files, clips and samples (notebook 01, and the data side of every other notebook)."""
from ..data.classes import class_names
from ..data.clip_choice import HAND_TO_HEAD_CLASSES, example_clip, micro_gesture_classes
from ..data.clip_index import build_clip_index, class_counts, index_summary
from ..data.dataset import ClipDataset, collate_clips
from ..data.export import read_stgcn_arrays, read_submission_csv, write_stgcn_arrays, write_submission_csv
from ..data.release_files import ReleaseFiles, tree
from ..data.joint_layouts import get_layout
from ..data.skeleton_io import read_light_hand_csv
from ..data.video import ClipReader
from ..viz.data import class_distribution_figure, clip_frames_figure, clip_length_figure, subject_split_figure

__all__ = ["ClipDataset", "ClipReader", "HAND_TO_HEAD_CLASSES", "ReleaseFiles", "build_clip_index",
           "class_counts", "class_distribution_figure", "class_names", "clip_frames_figure", "clip_length_figure",
           "collate_clips", "example_clip", "get_layout", "index_summary", "micro_gesture_classes",
           "read_light_hand_csv", "read_stgcn_arrays", "read_submission_csv", "subject_split_figure", "tree",
           "write_stgcn_arrays", "write_submission_csv"]
