"""Box utilities (``torchvision.ops.boxes``) on ``(N, 4)`` tensors of ``(x1, y1, x2, y2)`` boxes."""
from __future__ import annotations

import numpy as np

import dynagrad
from dynagrad.tensor import Tensor

__all__ = ["box_area", "box_iou", "nms", "batched_nms", "box_convert", "clip_boxes_to_image",
           "remove_small_boxes"]


def _check_boxes(boxes, name: str) -> None:
    if not isinstance(boxes, Tensor):
        raise TypeError(f"{name}: boxes should be a Tensor, got {type(boxes).__name__}")
    if boxes.ndim != 2 or int(boxes.shape[-1]) != 4:
        raise ValueError(f"{name}: boxes should have shape (N, 4), got {tuple(boxes.shape)}")


def box_area(boxes: Tensor) -> Tensor:
    """Areas ``(x2 - x1) * (y2 - y1)``.

    >>> box_area(dynagrad.tensor([[0., 0., 2., 3.]]))
    tensor([6.])
    """
    _check_boxes(boxes, "box_area")
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise intersection over union, ``(N, M)``.

    >>> box_iou(dynagrad.tensor([[0., 0., 2., 2.]]), dynagrad.tensor([[1., 1., 3., 3.], [0., 0., 2., 2.]]))
    tensor([[0.1429, 1.0000]])
    """
    _check_boxes(boxes1, "box_iou")
    _check_boxes(boxes2, "box_iou")
    area1, area2 = box_area(boxes1), box_area(boxes2)
    lt = dynagrad.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    rb = dynagrad.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area1[:, None] + area2[None, :] - inter)


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Indices (int64, by decreasing score) of the boxes kept by greedy non-maximum suppression: a box is
    dropped when its IoU with a kept higher-scoring box exceeds ``iou_threshold``.

    >>> b = dynagrad.tensor([[0., 0., 2., 2.], [0.1, 0., 2., 2.], [3., 3., 4., 4.]])
    >>> nms(b, dynagrad.tensor([0.9, 0.8, 0.7]), 0.5)
    tensor([0, 2])
    """
    _check_boxes(boxes, "nms")
    if scores.ndim != 1 or int(scores.shape[0]) != int(boxes.shape[0]):
        raise ValueError(f"nms: scores should have shape ({int(boxes.shape[0])},), got {tuple(scores.shape)}")
    b = boxes.detach().numpy().astype(np.float64)
    s = scores.detach().numpy()
    order = np.argsort(-s, kind="stable")
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    suppressed = np.zeros(len(b), bool)
    keep = []
    for idx, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        rest = order[idx + 1:]
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        suppressed[rest[iou > iou_threshold]] = True
    return dynagrad.from_numpy(np.asarray(keep, dtype=np.int64))


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """NMS done independently per category ``idxs`` (boxes of different categories never suppress each
    other)."""
    _check_boxes(boxes, "batched_nms")
    if boxes.numel() == 0:
        return dynagrad.empty((0,), dtype=dynagrad.int64)
    offset = idxs.to(boxes.dtype) * (boxes.max() + 1)
    return nms(boxes + offset[:, None], scores, iou_threshold)


def box_convert(boxes: Tensor, in_fmt: str, out_fmt: str) -> Tensor:
    """Between ``'xyxy'``, ``'xywh'`` (corner + size) and ``'cxcywh'`` (centre + size)."""
    fmts = ("xyxy", "xywh", "cxcywh")
    if in_fmt not in fmts or out_fmt not in fmts:
        raise ValueError("Unsupported Bounding Box Conversions for given in_fmt and out_fmt")
    if in_fmt == out_fmt:
        return boxes.clone()
    a, b, c, d = boxes.unbind(-1)
    if in_fmt == "xywh":
        a, b, c, d = a, b, a + c, b + d
    elif in_fmt == "cxcywh":
        a, b, c, d = a - 0.5 * c, b - 0.5 * d, a + 0.5 * c, b + 0.5 * d
    if out_fmt == "xywh":
        a, b, c, d = a, b, c - a, d - b
    elif out_fmt == "cxcywh":
        a, b, c, d = (a + c) / 2, (b + d) / 2, c - a, d - b
    return dynagrad.stack((a, b, c, d), dim=-1)


def clip_boxes_to_image(boxes: Tensor, size: tuple[int, int]) -> Tensor:
    """Clamp boxes into an image of ``size = (height, width)``."""
    h, w = size
    x = boxes[..., 0::2].clamp(min=0, max=w)
    y = boxes[..., 1::2].clamp(min=0, max=h)
    return dynagrad.stack((x, y), dim=boxes.ndim).reshape(boxes.shape)


def remove_small_boxes(boxes: Tensor, min_size: float) -> Tensor:
    """Indices of the boxes whose sides are both at least ``min_size``."""
    ws, hs = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return dynagrad.where((ws >= min_size) & (hs >= min_size))[0]
