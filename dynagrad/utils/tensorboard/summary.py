"""Summary protocol buffers, as ``torch.utils.tensorboard.summary`` builds them: scalars, tensors,
histograms, images (PNG-encoded without Pillow), videos (GIF, through Pillow), audio (WAV), text, PR curves,
custom-scalar layouts, hyperparameters and meshes.

>>> s = scalar("loss", 0.5)
>>> s.value[0].tag, s.value[0].simple_value
('loss', 0.5)
"""
from __future__ import annotations

import io
import struct

import numpy as np

from ..._png import encode_png
from . import _proto
from ._convert import make_np
from ._proto import HistogramProto, Summary, SummaryMetadata, TensorProto, TensorShapeProto

__all__ = ["scalar", "tensor_proto", "histogram", "histogram_raw", "make_histogram", "image", "image_boxes",
           "make_image", "video", "make_video", "audio", "text", "custom_scalars", "pr_curve", "pr_curve_raw",
           "compute_curve", "hparams", "mesh", "half_to_int", "int_to_half", "convert_to_HWC", "make_grid"]


def half_to_int(f: float) -> int:
    """The bits of ``f`` as a float32, read as an int32 (how TensorProto stores half values)."""
    return struct.unpack("i", struct.pack("f", f))[0]


def int_to_half(i: int) -> float:
    return struct.unpack("f", struct.pack("i", i))[0]


def _shape(shape) -> TensorShapeProto:
    return TensorShapeProto(dim=[TensorShapeProto.Dim(size=int(d)) for d in shape])


# -- scalars and tensors --------------------------------------------------------------------------------------
def scalar(name: str, tensor, collections=None, new_style: bool = False, double_precision: bool = False):
    """One value: ``simple_value``, or with ``new_style`` a tensor for the scalars plugin."""
    arr = make_np(tensor).squeeze()
    if arr.ndim != 0:
        raise AssertionError(f"Tensor should contain one element (0 dimensions). Was given size: {arr.size} and "
                             f"{arr.ndim} dimensions.")
    value = float(arr)
    if not new_style:
        return Summary(value=[Summary.Value(tag=name, simple_value=value)])
    proto = TensorProto(double_val=[value], dtype="DT_DOUBLE") if double_precision else \
        TensorProto(float_val=[value], dtype="DT_FLOAT")
    meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
    return Summary(value=[Summary.Value(tag=name, tensor=proto, metadata=meta)])


# dtype name -> (TensorProto dtype, value field, converter of the flat array)
def _floats(a):
    return a.astype(np.float64).ravel().tolist()


def _halves(a):
    return [half_to_int(v) for v in a.astype(np.float32).ravel().tolist()]


def _complexes(a):
    return np.stack([a.real.ravel(), a.imag.ravel()], 1).ravel().tolist()


_TENSOR_TYPES = {
    "float16": ("DT_HALF", "half_val", _halves), "bfloat16": ("DT_BFLOAT16", "half_val", _halves),
    "float32": ("DT_FLOAT", "float_val", _floats), "float64": ("DT_DOUBLE", "double_val", _floats),
    "int8": ("DT_INT8", "int_val", lambda a: a.ravel().tolist()),
    "uint8": ("DT_UINT8", "uint32_val", lambda a: a.ravel().tolist()),
    "int16": ("DT_INT16", "int_val", lambda a: a.ravel().tolist()),
    "int32": ("DT_INT32", "int_val", lambda a: a.ravel().tolist()),
    "int64": ("DT_INT64", "int64_val", lambda a: a.ravel().tolist()),
    "complex64": ("DT_COMPLEX64", "scomplex_val", _complexes),
    "complex128": ("DT_COMPLEX128", "dcomplex_val", _complexes),
    "bool": ("DT_BOOL", "bool_val", lambda a: a.ravel().tolist()),
}


def tensor_proto(tag: str, tensor):
    """A whole tensor for TensorBoard's tensor plugin (``SummaryWriter.add_tensor``)."""
    from ...tensor import Tensor
    name = tensor.dtype.name if isinstance(tensor, Tensor) else np.asarray(tensor).dtype.name
    arr = tensor.detach().numpy() if isinstance(tensor, Tensor) else np.asarray(tensor)
    if arr.size * arr.itemsize >= 1 << 31:
        raise ValueError("tensor is bigger than protocol buffer's hard limit of 2GB in size")
    if name not in _TENSOR_TYPES:
        raise ValueError(f"{tag} has unsupported tensor dtype {name}")
    dtype, field, conv = _TENSOR_TYPES[name]
    proto = TensorProto(dtype=dtype, tensor_shape=_shape(arr.shape), **{field: conv(arr)})
    meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="tensor"))
    return Summary(value=[Summary.Value(tag=tag, metadata=meta, tensor=proto)])


# -- histograms ------------------------------------------------------------------------------------------------
def histogram_raw(name, min, max, num, sum, sum_squares, bucket_limits, bucket_counts):  # noqa: A002
    """A histogram already counted: ``bucket_limits[i]`` is the right edge of ``bucket_counts[i]``."""
    def f(v):
        return float(make_np(v))

    hist = HistogramProto(min=f(min), max=f(max), num=f(num), sum=f(sum), sum_squares=f(sum_squares),
                          bucket_limit=make_np(bucket_limits).astype(float).ravel().tolist(),
                          bucket=make_np(bucket_counts).astype(float).ravel().tolist())
    return Summary(value=[Summary.Value(tag=name, histo=hist)])


def histogram(name: str, values, bins, max_bins=None):
    hist = make_histogram(make_np(values).astype(float), bins, max_bins)
    return Summary(value=[Summary.Value(tag=name, histo=hist)])


def make_histogram(values: np.ndarray, bins, max_bins=None) -> HistogramProto:
    """A HistogramProto of ``values`` with ``np.histogram``'s ``bins``; TensorBoard stores right edges only, so
    the bins outside the data's support are dropped except one empty bin on the left."""
    if values.size == 0:
        raise ValueError("The input has no element.")
    values = values.reshape(-1)
    counts, limits = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        group = len(counts) // max_bins
        if len(counts) % group:
            counts = np.pad(counts, (0, group - len(counts) % group))
        counts = counts.reshape(-1, group).sum(-1)
        limits = np.concatenate([limits[:-1:group], limits[-1:]])
    filled = np.cumsum(counts > 0)
    start, end = np.searchsorted(filled, [0, filled[-1] - 1], side="right")
    start, end = int(start), int(end) + 1
    counts = counts[start - 1:end] if start > 0 else np.concatenate([[0], counts[:end]])
    limits = limits[start:end + 1]
    if counts.size == 0 or limits.size == 0:
        raise ValueError("The histogram is empty, please file a bug report.")
    return HistogramProto(min=values.min(), max=values.max(), num=len(values), sum=values.sum(),
                          sum_squares=values.dot(values), bucket_limit=limits.tolist(), bucket=counts.tolist())


# -- images ----------------------------------------------------------------------------------------------------
def make_grid(images: np.ndarray, ncols: int = 8) -> np.ndarray:
    """(N, C, H, W) images with C 1 or 3 tiled row by row, ``ncols`` per row, into one (3, H', W') image."""
    if images.shape[1] == 1:
        images = np.concatenate([images] * 3, 1)
    if images.ndim != 4 or images.shape[1] != 3:
        raise AssertionError("Input should be a 4D numpy array with 3 channels")
    n, _, h, w = images.shape
    ncols = min(n, ncols)
    nrows = -(-n // ncols)
    grid = np.zeros((3, h * nrows, w * ncols), images.dtype)
    for i in range(n):
        r, c = divmod(i, ncols)
        grid[:, r * h:(r + 1) * h, c * w:(c + 1) * w] = images[i]
    return grid


def convert_to_HWC(tensor: np.ndarray, input_format: str) -> np.ndarray:  # noqa: N802 - PyTorch's name
    """An image array in layout ``input_format`` (NCHW, CHW, HWC, HW, ...) as (H, W, C)."""
    if len(set(input_format)) != len(input_format):
        raise AssertionError(f"You can not use the same dimension shorthand twice. input_format: {input_format}")
    if tensor.ndim != len(input_format):
        raise AssertionError(f"size of input tensor and input format are different. tensor shape: "
                             f"{tensor.shape}, input_format: {input_format}")
    fmt = input_format.upper()
    if len(fmt) == 4:
        return make_grid(tensor.transpose([fmt.find(c) for c in "NCHW"])).transpose(1, 2, 0)
    if len(fmt) == 3:
        hwc = tensor.transpose([fmt.find(c) for c in "HWC"])
        return np.concatenate([hwc] * 3, 2) if hwc.shape[2] == 1 else hwc
    if len(fmt) == 2:
        return np.stack([tensor.transpose([fmt.find(c) for c in "HW"])] * 3, 2)
    raise AssertionError(f"input_format {input_format!r} should have 2, 3 or 4 dimensions")


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    # as PyTorch: uint8 images are taken as 0..255, anything else as 0..1
    scale = 1 if arr.dtype == np.uint8 else 255
    return (arr.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)


def _resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:  # nearest neighbour without Pillow
        ys = (np.arange(h) * img.shape[0] // max(h, 1)).clip(0, img.shape[0] - 1)
        xs = (np.arange(w) * img.shape[1] // max(w, 1)).clip(0, img.shape[1] - 1)
        return img[ys][:, xs]
    return np.asarray(Image.fromarray(img).resize((w, h), Image.Resampling.LANCZOS))


def _draw_boxes(img: np.ndarray, boxes: np.ndarray, labels=None) -> np.ndarray:
    """Red rectangles (x1, y1, x2, y2), two pixels wide, with their labels on a red band above the bottom edge."""
    from ..._plot import Canvas
    c = Canvas(img.shape[1], img.shape[0])
    c.px[:] = img[:, :, :3]
    red = (255, 0, 0)
    for i, (x1, y1, x2, y2) in enumerate(np.asarray(boxes, np.float64).reshape(-1, 4)):
        for xa, ya, xb, yb in ((x1, y1, x2, y1 + 2), (x1, y2 - 2, x2, y2), (x1, y1, x1 + 2, y2), (x2 - 2, y1, x2, y2)):
            c.rect(xa, ya, xb, yb, red)
        if labels is not None and labels[i]:
            s = str(labels[i])
            c.rect(x1, y2 - 11, x1 + 6 * len(s) + 2, y2, red)
            c.text(x1 + 1, y2 - 10, s, scale=1)
    out = np.clip(np.rint(c.px), 0, 255).astype(np.uint8)
    return np.concatenate([out, img[:, :, 3:]], 2) if img.shape[2] == 4 else out


def make_image(tensor: np.ndarray, rescale: float = 1, rois=None, labels=None):
    """A ``Summary.Image`` (PNG) of a uint8 (H, W, C) array."""
    height, width, channels = tensor.shape
    img = tensor
    if rois is not None:
        img = _draw_boxes(img, rois, labels)
    sh, sw = int(height * rescale), int(width * rescale)
    if (sh, sw) != (height, width):
        img = _resize(img, sh, sw)
    return Summary.Image(height=height, width=width, colorspace=channels, encoded_image_string=encode_png(img))


def image(tag: str, tensor, rescale: float = 1, dataformats: str = "NCHW"):
    hwc = convert_to_HWC(make_np(tensor), dataformats)
    return Summary(value=[Summary.Value(tag=tag, image=make_image(_to_uint8(hwc), rescale=rescale))])


def image_boxes(tag: str, tensor_image, tensor_boxes, rescale: float = 1, dataformats: str = "CHW", labels=None):
    hwc = convert_to_HWC(make_np(tensor_image), dataformats)
    img = make_image(_to_uint8(hwc), rescale=rescale, rois=make_np(tensor_boxes), labels=labels)
    return Summary(value=[Summary.Value(tag=tag, image=img)])


# -- video and audio -------------------------------------------------------------------------------------------
def _prepare_video(v: np.ndarray) -> np.ndarray:
    """(N, T, C, H, W) -> (T, H', W', C): the N clips tiled into a grid (rows a power of two) per frame."""
    b, t, c, h, w = v.shape
    if v.dtype == np.uint8:
        v = np.float32(v) / 255.0
    if b & (b - 1):
        v = np.concatenate([v, np.zeros((2 ** b.bit_length() - b, t, c, h, w), v.dtype)], 0)
    rows = 2 ** ((b.bit_length() - 1) // 2)
    cols = v.shape[0] // rows
    v = v.reshape(rows, cols, t, c, h, w).transpose(2, 0, 4, 1, 5, 3)
    return v.reshape(t, rows * h, cols * w, c)


def make_video(tensor: np.ndarray, fps: float):
    """A ``Summary.Image`` holding an animated GIF of uint8 (T, H, W, C) frames (needs Pillow or moviepy)."""
    t, h, w, c = tensor.shape
    try:
        from PIL import Image
    except ImportError:
        Image = None
    if Image is not None:
        frames = [Image.fromarray(f[:, :, 0] if c == 1 else f[:, :, :3]) for f in tensor]
        buf = io.BytesIO()
        frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=int(1000 / fps),
                       loop=0)
        data = buf.getvalue()
    else:
        try:
            from moviepy import ImageSequenceClip
        except ImportError:
            try:
                from moviepy.editor import ImageSequenceClip
            except ImportError:
                raise ImportError("add_video encodes GIFs with Pillow or moviepy; neither is installed: "
                                  "pip install pillow") from None
        import os
        import tempfile
        fd, name = tempfile.mkstemp(suffix=".gif")
        os.close(fd)
        try:
            ImageSequenceClip(list(tensor), fps=fps).write_gif(name, logger=None)
            with open(name, "rb") as f:
                data = f.read()
        finally:
            os.unlink(name)
    return Summary.Image(height=h, width=w, colorspace=c, encoded_image_string=data)


def video(tag: str, tensor, fps: float = 4):
    frames = _prepare_video(make_np(tensor))
    return Summary(value=[Summary.Value(tag=tag, image=make_video(_to_uint8(frames), fps))])


def audio(tag: str, tensor, sample_rate: int = 44100):
    """Mono audio in [-1, 1] as 16-bit WAV (values outside are clipped, with a warning as PyTorch prints)."""
    import wave
    arr = make_np(tensor).squeeze()
    if np.abs(arr).max() > 1:
        print("warning: audio amplitude out of range, auto clipped.")
        arr = arr.clip(-1, 1)
    if arr.ndim != 1:
        raise AssertionError("input tensor should be 1 dimensional.")
    pcm = (arr * np.iinfo(np.int16).max).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    snd = Summary.Audio(sample_rate=sample_rate, num_channels=1, length_frames=pcm.shape[-1],
                        encoded_audio_string=buf.getvalue(), content_type="audio/wav")
    return Summary(value=[Summary.Value(tag=tag, audio=snd)])


# -- text, layouts, curves -------------------------------------------------------------------------------------
def text(tag: str, text: str):
    content = _proto.plugin_text_pb2.TextPluginData(version=0).SerializeToString()
    meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="text", content=content))
    proto = TensorProto(dtype="DT_STRING", string_val=[text.encode("utf_8")], tensor_shape=_shape([1]))
    return Summary(value=[Summary.Value(tag=tag + "/text_summary", metadata=meta, tensor=proto)])


def custom_scalars(layout: dict):
    """``{category: {chart title: ["Multiline", [tags]] or ["Margin", [value, lower, upper]]}}``."""
    lp = _proto.layout_pb2
    categories = []
    for category, charts in layout.items():
        out = []
        for title, (kind, tags) in charts.items():
            if kind == "Margin":
                if len(tags) != 3:
                    raise AssertionError("len(tags) != 3")
                series = lp.MarginChartContent.Series(value=tags[0], lower=tags[1], upper=tags[2])
                out.append(lp.Chart(title=title, margin=lp.MarginChartContent(series=[series])))
            else:
                out.append(lp.Chart(title=title, multiline=lp.MultilineChartContent(tag=tags)))
        categories.append(lp.Category(title=category, chart=out))
    meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="custom_scalars"))
    proto = TensorProto(dtype="DT_STRING", string_val=[lp.Layout(category=categories).SerializeToString()],
                        tensor_shape=TensorShapeProto())
    return Summary(value=[Summary.Value(tag="custom_scalars__config__", tensor=proto, metadata=meta)])


def _pr_summary(tag: str, data: np.ndarray, num_thresholds: int):
    content = _proto.plugin_pr_curve_pb2.PrCurvePluginData(version=0, num_thresholds=num_thresholds)
    meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="pr_curves",
                                                                  content=content.SerializeToString()))
    proto = TensorProto(dtype="DT_FLOAT", float_val=data.reshape(-1).tolist(), tensor_shape=_shape(data.shape))
    return Summary(value=[Summary.Value(tag=tag, metadata=meta, tensor=proto)])


def pr_curve_raw(tag, tp, fp, tn, fn, precision, recall, num_thresholds=127, weights=None):
    return _pr_summary(tag, np.stack((tp, fp, tn, fn, precision, recall)), min(num_thresholds, 127))


def compute_curve(labels, predictions, num_thresholds=None, weights=None) -> np.ndarray:
    """Rows tp, fp, tn, fn, precision, recall at ``num_thresholds`` evenly spaced thresholds."""
    weights = 1.0 if weights is None else weights
    buckets = np.int32(np.floor(predictions * (num_thresholds - 1)))
    lab = labels.astype(np.float64)
    tp_b, _ = np.histogram(buckets, bins=num_thresholds, range=(0, num_thresholds - 1), weights=lab * weights)
    fp_b, _ = np.histogram(buckets, bins=num_thresholds, range=(0, num_thresholds - 1), weights=(1 - lab) * weights)
    tp = np.cumsum(tp_b[::-1])[::-1]
    fp = np.cumsum(fp_b[::-1])[::-1]
    tn, fn = fp[0] - fp, tp[0] - tp
    precision = tp / np.maximum(1e-7, tp + fp)
    recall = tp / np.maximum(1e-7, tp + fn)
    return np.stack((tp, fp, tn, fn, precision, recall))


def pr_curve(tag, labels, predictions, num_thresholds=127, weights=None):
    num_thresholds = min(num_thresholds, 127)  # more breaks the plugin's protobuf, as in PyTorch
    labels, predictions = make_np(labels), make_np(predictions)
    w = None if weights is None else make_np(weights)
    return _pr_summary(tag, compute_curve(labels, predictions, num_thresholds, w), num_thresholds)


# -- hyperparameters -------------------------------------------------------------------------------------------
def hparams(hparam_dict=None, metric_dict=None, hparam_domain_discrete=None):
    """The three summaries of TensorBoard's HParams plugin: experiment, session start, session end."""
    from google.protobuf import struct_pb2
    api, hp = _proto.api_pb2, _proto.plugin_hparams_pb2
    if not isinstance(hparam_dict, dict):
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    domains = hparam_domain_discrete or {}
    if not isinstance(domains, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing logged.")
    for k, v in domains.items():
        if k not in hparam_dict or not isinstance(v, list) or not all(isinstance(d, type(hparam_dict[k])) for d in v):
            raise TypeError(f"parameter: hparam_domain_discrete[{k}] should be a list of same type as "
                            f"hparam_dict[{k}].")
    from ...tensor import Tensor
    infos = []
    ssi = hp.SessionStartInfo()
    for k, v in hparam_dict.items():
        if v is None:
            continue
        # the order matters as in PyTorch: a bool is an int, so it is logged as a number
        if isinstance(v, (int, float)):
            ssi.hparams[k].number_value = v
            kind, field = "DATA_TYPE_FLOAT64", "number_value"
        elif isinstance(v, str):
            ssi.hparams[k].string_value = v
            kind, field = "DATA_TYPE_STRING", "string_value"
        elif isinstance(v, Tensor):
            ssi.hparams[k].number_value = float(make_np(v).reshape(-1)[0])
            infos.append(api.HParamInfo(name=k, type=api.DataType.Value("DATA_TYPE_FLOAT64")))
            continue
        else:
            raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")
        domain = None
        if k in domains:
            domain = struct_pb2.ListValue(values=[struct_pb2.Value(**{field: d}) for d in domains[k]])
        infos.append(api.HParamInfo(name=k, type=api.DataType.Value(kind), domain_discrete=domain))

    def plugin(tag, **data):
        content = hp.HParamsPluginData(version=0, **data).SerializeToString()
        meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="hparams", content=content))
        return Summary(value=[Summary.Value(tag=tag, metadata=meta)])

    exp = api.Experiment(hparam_infos=infos, metric_infos=[api.MetricInfo(name=api.MetricName(tag=k))
                                                           for k in metric_dict])
    sei = hp.SessionEndInfo(status=api.Status.Value("STATUS_SUCCESS"))
    return (plugin("_hparams_/experiment", experiment=exp), plugin("_hparams_/session_start_info",
                                                                    session_start_info=ssi),
            plugin("_hparams_/session_end_info", session_end_info=sei))


# -- meshes ----------------------------------------------------------------------------------------------------
def mesh(tag, vertices, colors, faces, config_dict, display_name=None, description=None):
    """Vertices (B, N, 3), faces (B, F, 3) and colours (B, N, 3) for TensorBoard's mesh plugin."""
    from tensorboardX.summary import mesh as _mesh  # the plugin metadata as tensorboardX writes it
    conv = [None if t is None else make_np(t) for t in (vertices, colors, faces)]
    out = _mesh(tag, conv[0], conv[1], conv[2], config_dict)
    if display_name is not None or description is not None:
        for v in out.value:
            if display_name is not None:
                v.metadata.display_name = display_name
            if description is not None:
                v.metadata.summary_description = description
    return out

