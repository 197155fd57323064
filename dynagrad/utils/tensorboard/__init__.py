"""``torch.utils.tensorboard``: log scalars, histograms, images, text, hyperparameters, embeddings, PR curves
and the model's graph for TensorBoard (``tensorboard --logdir runs``), with PyTorch's ``SummaryWriter`` API.

Event files are written with tensorboardX (a dependency of dynagrad: small, on protobuf); viewing them
needs TensorBoard itself (``pip install tensorboard``).
"""
from ._proto import RecordWriter
from .writer import FileWriter, SummaryWriter

__all__ = ["FileWriter", "RecordWriter", "SummaryWriter"]
