"""Evaluating trained runs: metrics, a reloaded run's predictions and attention, verdicts (notebooks 03, 07, 08)."""
from ..eval.ablation_verdicts import paired_comparisons, variant_correctness, verdicts
from ..runs.analysis import attention_examples, load_run
from ..eval.metrics import (chance_levels, classification_report, confusion_matrix, per_class_comparison,
                            per_class_table)
from ..viz.results import (attention_examples_figure, confusion_matrix_figure, embedding_projection_figure, frame_attention_figure,
                          gate_by_class_figure, per_class_accuracy_figure)
from ..eval.saved_predictions import run_predictions
from ..eval.zero_shot import write_zero_shot_record, zero_shot_table

__all__ = ["attention_examples", "attention_examples_figure", "chance_levels", "classification_report", "confusion_matrix",
           "confusion_matrix_figure", "embedding_projection_figure", "frame_attention_figure",
           "gate_by_class_figure", "load_run", "paired_comparisons", "per_class_accuracy_figure",
           "per_class_comparison", "per_class_table", "run_predictions", "variant_correctness", "verdicts",
           "write_zero_shot_record", "zero_shot_table"]
