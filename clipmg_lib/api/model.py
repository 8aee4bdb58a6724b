"""The CLIP-MG model: factories, components run on a few clips, and their figures (notebooks 03-05)."""
from ..model import count_parameters, create_model, get_model_config, list_ablations, parameter_table
from ..model.factory import create_model_and_pipelines
from ..model.inference import clip_dataset, encode_clips, forward_encoded
from ..model.inputs import input_pipelines
from ..model.text import class_descriptions, class_prompts
from ..viz.model import (class_similarity_figure, cosine_matrix, gate_histogram_figure, query_shift_figure,
                         top_predictions_figure)
from ..viz.pose_embedding import pose_embedding_similarity_figure
from ..viz.results import attention_examples_figure, attention_over_frames

__all__ = ["attention_examples_figure", "attention_over_frames", "class_descriptions", "class_prompts",
           "class_similarity_figure", "clip_dataset", "cosine_matrix", "count_parameters", "create_model",
           "create_model_and_pipelines", "encode_clips", "forward_encoded", "gate_histogram_figure",
           "get_model_config", "input_pipelines", "list_ablations", "parameter_table",
           "pose_embedding_similarity_figure", "query_shift_figure", "top_predictions_figure"]
