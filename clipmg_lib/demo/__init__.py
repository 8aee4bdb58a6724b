"""The demo simulator: small demo datasets and the full-size simulated iMiGUE (``full_size``)."""
