"""Side-by-side benchmarks: dynagrad eager vs PyTorch eager vs hand-written NumPy (run ``python -m benchmarks``)."""
