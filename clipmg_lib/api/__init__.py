"""Façades for the notebooks: each module re-exports, under one stable import path, what one stage of the
chain shows (no logic lives here; every name is defined in the library module it comes from).

    from clipmg_lib.api.notebook import check_params, paths, save_figure
    from clipmg_lib.api.data import build_clip_index, ClipDataset, example_clip

Modules: ``notebook`` (parameters, paths, figure saving, atomic writes), ``data``, ``pose``, ``model``,
``training``, ``evaluation``, ``spotting``, ``affect``. Nothing in the library imports ``api``.
"""
