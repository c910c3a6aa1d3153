"""ONNX in: the graph converted into a workload, its shapes, and its weights for the functional model."""
