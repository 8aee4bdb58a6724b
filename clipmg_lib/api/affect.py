"""From gestures to affect: emotion per video, per-subject accuracy, calibration (notebook 10)."""
from ..eval.calibration import calibration_table, reliability_bins
from ..eval.emotion import clips_with_predictions, results_table, run_emotion, video_table
from ..eval.per_subject import clip_subjects, per_subject_accuracy, per_subject_matrix, subject_spread
from ..viz.affect import emotion_figure, per_subject_figure, reliability_figure, subject_spread_figure
from ..eval.saved_predictions import ablation_predictions

__all__ = ["ablation_predictions", "calibration_table", "clip_subjects", "clips_with_predictions", "emotion_figure",
           "per_subject_accuracy", "per_subject_figure", "per_subject_matrix", "reliability_bins",
           "reliability_figure", "results_table", "run_emotion", "subject_spread", "subject_spread_figure",
           "video_table"]
