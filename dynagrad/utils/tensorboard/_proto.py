"""tensorboardX's protocol buffers and event-file framing, imported without letting it import PyTorch.

``import tensorboardX`` runs its package ``__init__``, whose writer module tries ``import torch`` (to accept
torch tensors). dynagrad never imports torch, so while tensorboardX loads, a ``torch`` import fails as if
PyTorch were absent; under ``dynagrad run`` ``torch`` is dynagrad and already imported, which is harmless.
"""
from __future__ import annotations

import sys

_MISSING = ("dynagrad.utils.tensorboard (torch.utils.tensorboard) writes TensorBoard event files with "
            "tensorboardX, which is not installed: pip install tensorboardX")


def _load():
    blocked = "torch" not in sys.modules
    if blocked:
        sys.modules["torch"] = None  # `import torch` raises ImportError while tensorboardX loads
    try:
        import tensorboardX  # noqa: F401
        from tensorboardX import crc32c, record_writer
        from tensorboardX.proto import (
            api_pb2,
            attr_value_pb2,
            event_pb2,
            graph_pb2,
            layout_pb2,
            node_def_pb2,
            plugin_hparams_pb2,
            plugin_pr_curve_pb2,
            plugin_text_pb2,
            summary_pb2,
            tensor_pb2,
            tensor_shape_pb2,
            versions_pb2,
        )
    except ImportError as e:
        if getattr(e, "name", None) in ("tensorboardX", "google", "google.protobuf") or "tensorboardX" in str(e):
            raise ImportError(_MISSING) from e
        raise
    finally:
        if blocked and sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return (crc32c, record_writer, api_pb2, attr_value_pb2, event_pb2, graph_pb2, layout_pb2, node_def_pb2,
            plugin_hparams_pb2, plugin_pr_curve_pb2, plugin_text_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2,
            versions_pb2)


(crc32c, record_writer, api_pb2, attr_value_pb2, event_pb2, graph_pb2, layout_pb2, node_def_pb2, plugin_hparams_pb2,
 plugin_pr_curve_pb2, plugin_text_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, versions_pb2) = _load()

Summary = summary_pb2.Summary
SummaryMetadata = summary_pb2.SummaryMetadata
HistogramProto = summary_pb2.HistogramProto
TensorProto = tensor_pb2.TensorProto
TensorShapeProto = tensor_shape_pb2.TensorShapeProto
Event = event_pb2.Event
SessionLog = event_pb2.SessionLog
RecordWriter = record_writer.RecordWriter
