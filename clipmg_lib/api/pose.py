"""Skeletons: mediapipe extraction, PYSKL-style transforms, named pipelines, heatmaps, motion (notebook 02)."""
from ..viz.pose import (frames_with_skeletons_figure, heatmap_channels_figure, heatmap_frames_figure,
                               joint_trajectories_figure, motion_heatmap_figure, skeleton_animation_figure)
from ..pose.compare import agreement_table
from ..pose.extract import extract_folder
from ..pose.mediapipe_pose import extract_frames, extract_image
from ..pose.video_chunks import extract_video
from ..pose.heatmap import GeneratePoseHeatmap
from ..pose.motion import class_motion_table, clip_motion_table
from ..pose.pipeline import build_pose_pipeline
from ..pose.sample_media import person_photo, project_points, write_person_video
from ..pose.transforms import Compose, Flip, InterpolateMissing, NormalizeSkeleton, SelectFrames

__all__ = ["Compose", "Flip", "GeneratePoseHeatmap", "InterpolateMissing", "NormalizeSkeleton", "SelectFrames",
           "agreement_table", "build_pose_pipeline", "class_motion_table", "clip_motion_table", "extract_folder",
           "extract_frames", "extract_image", "extract_video", "frames_with_skeletons_figure",
           "heatmap_channels_figure", "heatmap_frames_figure", "joint_trajectories_figure", "motion_heatmap_figure",
           "person_photo", "project_points", "skeleton_animation_figure", "write_person_video"]
