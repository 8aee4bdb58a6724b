"""The simulator: synthetic iMiGUE datasets in the release's on-disk layout, and frame-coded test media.

``generate`` writes a small demo dataset (CLI: ``python -m clipmg_lib.demo``), from the motions of ``motion``
drawn by ``render``; ``full_size`` simulates iMiGUE at full size; ``media`` makes the small frame-coded videos
that tests and benchmarks decode. Only the layers above the pipeline (runs, api), tests and bench import this
package; data, pose, model, train, eval and spotting never do.
"""
