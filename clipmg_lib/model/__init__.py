"""The CLIP-MG model: one module per component, built by `factory.create_model` from named configs."""
