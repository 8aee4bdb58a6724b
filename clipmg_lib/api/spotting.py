"""Spotting micro-gestures in untrimmed video: the spotter, its baselines, metrics and figures (notebook 09)."""
from ..viz.spotting import outcomes_figure, per_class_recall_figure, spot_timeline_figure, spotting_sweep_figure
from ..eval.spotting_metrics import (OUTCOMES, compare_methods, ground_truth_from_index, ground_truth_outcomes,
                                     per_class_recall, spotting_report, timeline_summary)
from ..spotting import (VideoSource, majority_class_baseline, oracle_boundary_spots, spot_videos, spotting_speed,
                        train_spotter, write_spot_outputs, write_spotting_summary)

__all__ = ["OUTCOMES", "VideoSource", "compare_methods", "ground_truth_from_index", "ground_truth_outcomes",
           "majority_class_baseline", "oracle_boundary_spots", "outcomes_figure", "per_class_recall",
           "per_class_recall_figure", "spot_timeline_figure", "spot_videos", "spotting_report", "spotting_speed",
           "spotting_sweep_figure", "timeline_summary", "train_spotter", "write_spot_outputs",
           "write_spotting_summary"]
