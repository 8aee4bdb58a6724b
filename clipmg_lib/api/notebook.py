"""What every notebook needs first: its parameter check, the kit's paths, figure saving, atomic writes."""
from ..core import paths
from ..core.atomic import atomic_open, atomic_path
from ..viz.save import save_figure
from ..runs.params import check_params

__all__ = ["atomic_open", "atomic_path", "check_params", "paths", "save_figure"]
