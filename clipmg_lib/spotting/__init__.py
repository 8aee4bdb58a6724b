"""Micro-gesture spotting in untrimmed video with CLIP-MG (a kit extension: the paper classifies cut clips).

    from clipmg_lib.spotting import train_spotter, spot_video, VideoSource, write_spot_outputs
"""
from .config import SpotterConfig, load_spotter_config
from .outputs import write_spot_outputs, write_spotting_summary
from .spotter import (Spotter, load_spotter, majority_class_baseline, oracle_boundary_spots, spot_video,
                      spot_video_file, spot_videos, spotting_speed, train_spotter)
from .video_source import VideoSource

__all__ = ["SpotterConfig", "load_spotter_config", "Spotter", "train_spotter", "load_spotter", "spot_video",
           "spot_videos", "spotting_speed", "spot_video_file", "majority_class_baseline", "oracle_boundary_spots", "VideoSource",
           "write_spot_outputs", "write_spotting_summary"]
