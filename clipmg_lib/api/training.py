"""Training runs: configs, caches, one run end to end, its record, the ablation runner (notebooks 06, 08)."""
from ..viz.results import ablation_bar_figure, runs_comparison_figure, training_curves_figure
from ..runs.run_record import read_run_record, resolve_run_dir, write_run_record
from ..runs import DEFAULT_VARIANTS, evaluate_split, load_index, prepare_caches, run_ablations, train_model
from ..train import load_train_config
from ..runs.ablation import ablation_histories, markdown_table
from ..train.cache_report import cache_table
from ..train.checkpoint import load_checkpoint
from ..runs.naming import default_run_dir
from ..runs.train_model import create_model_for, make_dataset

__all__ = ["DEFAULT_VARIANTS", "ablation_bar_figure", "ablation_histories", "cache_table", "create_model_for",
           "default_run_dir", "evaluate_split", "load_checkpoint", "load_index", "load_train_config",
           "make_dataset", "markdown_table", "prepare_caches", "read_run_record", "resolve_run_dir",
           "run_ablations", "runs_comparison_figure", "train_model", "training_curves_figure", "write_run_record"]
