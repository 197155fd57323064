"""``SummaryWriter`` and ``FileWriter`` with ``torch.utils.tensorboard``'s API, writing TensorBoard event
files through tensorboardX's event-file writer. Every ``add_*`` takes dynagrad tensors wherever PyTorch's
takes torch tensors (and NumPy arrays, lists and Python numbers).

>>> import tempfile
>>> with SummaryWriter(tempfile.mkdtemp()) as w:
...     for step in range(3):
...         w.add_scalar("loss", 1.0 / (step + 1), step)
"""
from __future__ import annotations

import atexit
import itertools
import os
import socket
import struct
import threading
import time
import weakref

import numpy as np

from . import _crc32c
from . import summary as _summary
from ._convert import make_np
from ._proto import Event, SessionLog, event_pb2, record_writer
from ._proto import crc32c as _tbx_crc

# the C implementation when the `crc32c` package is installed (tensorboardX uses it), else ours
_masked_crc = record_writer.masked_crc32c if getattr(_tbx_crc, "_crc32c_native", None) else _crc32c.masked_crc32c

__all__ = ["EventFileWriter", "FileWriter", "SummaryWriter"]


class EventFileWriter:
    """Appends Event records to one new event file in ``logdir``.

    The file is named as TensorBoard's own writer names it (``events.out.tfevents.TIME.HOST.PID.N``), so two
    writers never share a file. Records are framed with masked CRC-32C checksums (tensorboardX's) and
    written at once into the file's buffer, which reaches the disk when ``max_queue`` events are pending,
    every ``flush_secs`` seconds (a daemon thread), at ``flush()``/``close()`` and at interpreter exit.
    """

    _count = itertools.count()

    def __init__(self, logdir: str, max_queue_size: int = 10, flush_secs: float = 120, filename_suffix: str = ""):
        self._logdir = logdir
        self._max_queue = max(int(max_queue_size or 1), 1)
        self._flush_secs = flush_secs
        self._suffix = filename_suffix
        self._lock = threading.Lock()
        self._file = None
        self._open()

    def _open(self) -> None:
        os.makedirs(self._logdir, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}."
                f"{next(self._count)}{self._suffix}")
        self._path = os.path.join(self._logdir, name)
        self._file = open(self._path, "wb")
        self._pending = 0
        self._stop = threading.Event()
        self._write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())
        self._flush_locked()
        if self._flush_secs and self._flush_secs > 0:
            self._thread = threading.Thread(target=self._flusher, args=(self._stop,), daemon=True,
                                            name="tensorboard-flush")
            self._thread.start()
        else:
            self._thread = None
        _open_writers.add(self)

    def _write(self, data: bytes) -> None:
        header = struct.pack("<Q", len(data))
        self._file.write(header + struct.pack("<I", _masked_crc(header)) + data
                         + struct.pack("<I", _masked_crc(data)))
        self._pending += 1

    def _flush_locked(self) -> None:
        if self._file is not None:
            self._file.flush()
        self._pending = 0

    def _flusher(self, stop: threading.Event) -> None:
        while not stop.wait(self._flush_secs):
            self.flush()

    def get_logdir(self) -> str:
        return self._logdir

    def add_event(self, event) -> None:
        data = event.SerializeToString()
        with self._lock:
            if self._file is None:  # closed: PyTorch's writer drops events then too
                return
            self._write(data)
            if self._pending >= self._max_queue:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def close(self) -> None:
        with self._lock:
            if self._file is None:
                return
            self._flush_locked()
            self._file.close()
            self._file = None
            self._stop.set()
        _open_writers.discard(self)

    def reopen(self) -> None:
        """After ``close()``, continue in a new event file in the same folder."""
        with self._lock:
            if self._file is None:
                self._open()


_open_writers: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _close_all() -> None:  # scripts often never call writer.close(): their last events still reach the disk
    for w in list(_open_writers):
        w.close()


class FileWriter:
    """Writes Event protocol buffers to an event file in ``log_dir`` (flushed every ``flush_secs`` seconds
    or when ``max_queue`` events wait)."""

    def __init__(self, log_dir, max_queue: int = 10, flush_secs: int = 120, filename_suffix: str = "") -> None:
        self.event_writer = EventFileWriter(str(log_dir), max_queue, flush_secs, filename_suffix)

    def get_logdir(self) -> str:
        return self.event_writer.get_logdir()

    def add_event(self, event, step=None, walltime=None) -> None:
        event.wall_time = time.time() if walltime is None else float(walltime)
        if step is not None:
            event.step = int(step)  # a NumPy or dynagrad integer would not fit the proto field
        self.event_writer.add_event(event)

    def add_summary(self, summary, global_step=None, walltime=None) -> None:
        self.add_event(event_pb2.Event(summary=summary), global_step, walltime)

    def add_graph(self, graph_profile, walltime=None) -> None:
        """``graph_profile`` is (GraphDef, RunMetadata or None); dynagrad records no step stats."""
        graph, stepstats = graph_profile if isinstance(graph_profile, tuple) else (graph_profile, None)
        self.add_event(event_pb2.Event(graph_def=graph.SerializeToString()), None, walltime)
        if stepstats is not None:
            trm = event_pb2.TaggedRunMetadata(tag="step1", run_metadata=stepstats.SerializeToString())
            self.add_event(event_pb2.Event(tagged_run_metadata=trm), None, walltime)

    def add_onnx_graph(self, graph, walltime=None) -> None:
        self.add_event(event_pb2.Event(graph_def=graph.SerializeToString()), None, walltime)

    def flush(self) -> None:
        self.event_writer.flush()

    def close(self) -> None:
        self.event_writer.close()

    def reopen(self) -> None:
        self.event_writer.reopen()


def _default_logdir(comment: str) -> str:
    import socket
    from datetime import datetime
    return os.path.join("runs", datetime.now().strftime("%b%d_%H-%M-%S") + "_" + socket.gethostname() + comment)


class SummaryWriter:
    """Writes entries to event files in ``log_dir`` for TensorBoard (``tensorboard --logdir runs``).

    ``log_dir`` defaults to ``runs/CURRENT_DATETIME_HOSTNAME`` followed by ``comment``; ``purge_step`` hides
    the events at or after that step from an earlier run that crashed; ``max_queue``, ``flush_secs`` and
    ``filename_suffix`` set how the event file is written.
    """

    def __init__(self, log_dir=None, comment: str = "", purge_step=None, max_queue: int = 10,
                 flush_secs: int = 120, filename_suffix: str = "") -> None:
        if not log_dir:
            log_dir = _default_logdir(comment)
        self.log_dir = str(log_dir) if isinstance(log_dir, os.PathLike) else log_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer = self.all_writers = None
        self._get_file_writer()
        # TensorFlow's default histogram buckets: +-1e-12 growing by 10% up to 1e20, and 0
        v, pos = 1e-12, []
        while v < 1e20:
            pos.append(v)
            v *= 1.1
        self.default_bins = [-b for b in reversed(pos)] + [0] + pos

    def _get_file_writer(self) -> FileWriter:
        """The default FileWriter, made again after ``close()``."""
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                self.file_writer.add_event(Event(step=self.purge_step, file_version="brain.Event:2"))
                self.file_writer.add_event(Event(step=self.purge_step,
                                                 session_log=SessionLog(status=SessionLog.START)))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self) -> str:
        return self.log_dir

    # -- numbers -------------------------------------------------------------------------------------------
    def add_scalar(self, tag: str, scalar_value, global_step=None, walltime=None, new_style: bool = False,
                   double_precision: bool = False) -> None:
        """One value of the curve ``tag`` at ``global_step``."""
        self._get_file_writer().add_summary(
            _summary.scalar(tag, scalar_value, new_style=new_style, double_precision=double_precision),
            global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step=None, walltime=None) -> None:
        """Several curves on one chart: each goes to its own run folder ``log_dir/main_tag_tag``."""
        walltime = time.time() if walltime is None else walltime
        logdir = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            path = logdir + "/" + main_tag.replace("/", "_") + "_" + tag
            fw = self.all_writers.get(path)
            if fw is None:
                fw = self.all_writers[path] = FileWriter(path, self.max_queue, self.flush_secs,
                                                         self.filename_suffix)
            fw.add_summary(_summary.scalar(main_tag, value), global_step, walltime)

    def add_tensor(self, tag: str, tensor, global_step=None, walltime=None) -> None:
        self._get_file_writer().add_summary(_summary.tensor_proto(tag, tensor), global_step, walltime)

    def add_histogram(self, tag: str, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None) -> None:
        """A histogram of ``values``; ``bins`` as ``np.histogram`` takes it, or "tensorflow"'s buckets."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        self._get_file_writer().add_summary(_summary.histogram(tag, values, bins, max_bins=max_bins),
                                            global_step, walltime)

    def add_histogram_raw(self, tag: str, min, max, num, sum, sum_squares, bucket_limits,  # noqa: A002
                          bucket_counts, global_step=None, walltime=None) -> None:
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        self._get_file_writer().add_summary(
            _summary.histogram_raw(tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts),
            global_step, walltime)

    def add_hparams(self, hparam_dict: dict, metric_dict: dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None) -> None:
        """Hyperparameters and their results, for TensorBoard's HParams tab, in the run ``log_dir/run_name``
        (a timestamp by default)."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        exp, ssi, sei = _summary.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name or str(time.time()))
        with SummaryWriter(log_dir=logdir) as w:
            for s in (exp, ssi, sei):
                w.file_writer.add_summary(s, global_step)
            for k, v in metric_dict.items():
                w.add_scalar(k, v, global_step)

    # -- pictures and sound --------------------------------------------------------------------------------
    def add_image(self, tag: str, img_tensor, global_step=None, walltime=None, dataformats: str = "CHW") -> None:
        """An image: float values in [0, 1] or uint8 in [0, 255], laid out as ``dataformats`` (CHW, HWC, HW)."""
        self._get_file_writer().add_summary(_summary.image(tag, img_tensor, dataformats=dataformats),
                                            global_step, walltime)

    def add_images(self, tag: str, img_tensor, global_step=None, walltime=None, dataformats: str = "NCHW") -> None:
        """A batch of images, tiled into one grid (8 per row)."""
        self._get_file_writer().add_summary(_summary.image(tag, img_tensor, dataformats=dataformats),
                                            global_step, walltime)

    def add_image_with_boxes(self, tag: str, img_tensor, box_tensor, global_step=None, walltime=None, rescale=1,
                             dataformats: str = "CHW", labels=None) -> None:
        """An image with boxes (N, 4) given as (xmin, ymin, xmax, ymax), optionally labelled."""
        if labels is not None:
            if isinstance(labels, str):
                labels = [labels]
            if len(labels) != make_np(box_tensor).shape[0]:
                labels = None
        self._get_file_writer().add_summary(
            _summary.image_boxes(tag, img_tensor, box_tensor, rescale=rescale, dataformats=dataformats,
                                 labels=labels), global_step, walltime)

    def add_figure(self, tag: str, figure, global_step=None, close: bool = True, walltime=None) -> None:
        """A matplotlib figure (or a list of them) rendered to an image."""
        if isinstance(figure, list):
            self.add_image(tag, figure_to_image(figure, close), global_step, walltime, dataformats="NCHW")
        else:
            self.add_image(tag, figure_to_image(figure, close), global_step, walltime, dataformats="CHW")

    def add_video(self, tag: str, vid_tensor, global_step=None, fps=4, walltime=None) -> None:
        """A (N, T, C, H, W) video as an animated GIF (encoded with Pillow, or moviepy as PyTorch does)."""
        self._get_file_writer().add_summary(_summary.video(tag, vid_tensor, fps), global_step, walltime)

    def add_audio(self, tag: str, snd_tensor, global_step=None, sample_rate: int = 44100, walltime=None) -> None:
        """A mono clip with values in [-1, 1]."""
        self._get_file_writer().add_summary(_summary.audio(tag, snd_tensor, sample_rate=sample_rate),
                                            global_step, walltime)

    def add_text(self, tag: str, text_string: str, global_step=None, walltime=None) -> None:
        """Text (Markdown) for TensorBoard's Text tab."""
        self._get_file_writer().add_summary(_summary.text(tag, text_string), global_step, walltime)

    def add_mesh(self, tag: str, vertices, colors=None, faces=None, config_dict=None, global_step=None,
                 walltime=None) -> None:
        self._get_file_writer().add_summary(_summary.mesh(tag, vertices, colors, faces, config_dict),
                                            global_step, walltime)

    # -- curves and layouts --------------------------------------------------------------------------------
    def add_pr_curve(self, tag: str, labels, predictions, global_step=None, num_thresholds: int = 127,
                     weights=None, walltime=None) -> None:
        """A precision-recall curve of binary ``labels`` against ``predictions`` in [0, 1]."""
        self._get_file_writer().add_summary(
            _summary.pr_curve(tag, make_np(labels), make_np(predictions), num_thresholds, weights),
            global_step, walltime)

    def add_pr_curve_raw(self, tag: str, true_positive_counts, false_positive_counts, true_negative_counts,
                         false_negative_counts, precision, recall, global_step=None, num_thresholds: int = 127,
                         weights=None, walltime=None) -> None:
        vals = [make_np(v) for v in (true_positive_counts, false_positive_counts, true_negative_counts,
                                     false_negative_counts, precision, recall)]
        self._get_file_writer().add_summary(_summary.pr_curve_raw(tag, *vals, num_thresholds, weights),
                                            global_step, walltime)

    def add_custom_scalars_multilinechart(self, tags, category: str = "default", title: str = "untitled") -> None:
        self._get_file_writer().add_summary(_summary.custom_scalars({category: {title: ["Multiline", tags]}}))

    def add_custom_scalars_marginchart(self, tags, category: str = "default", title: str = "untitled") -> None:
        if len(tags) != 3:
            raise AssertionError(f"Expected 3 tags, got {len(tags)}.")
        self._get_file_writer().add_summary(_summary.custom_scalars({category: {title: ["Margin", tags]}}))

    def add_custom_scalars(self, layout: dict) -> None:
        self._get_file_writer().add_summary(_summary.custom_scalars(layout))

    # -- models and embeddings -----------------------------------------------------------------------------
    def add_graph(self, model, input_to_model=None, verbose: bool = False, use_strict_trace: bool = True) -> None:
        """The graph of ``model(input_to_model)`` for TensorBoard's Graphs tab: every op of one forward run
        in eval mode, grouped by the module that ran it, with output shapes (see ``_graph``)."""
        from ._graph import graph
        self._get_file_writer().add_graph(graph(model, input_to_model, verbose, use_strict_trace))

    def add_onnx_graph(self, prototxt) -> None:
        from tensorboardX.onnx_graph import load_onnx_graph
        self._get_file_writer().add_onnx_graph(load_onnx_graph(prototxt))

    @staticmethod
    def _encode(rawstr: str) -> str:
        return rawstr.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")

    def add_embedding(self, mat, metadata=None, label_img=None, global_step=None, tag: str = "default",
                      metadata_header=None) -> None:
        """Points (N, D) for TensorBoard's Projector, with per-point ``metadata`` (labels, or rows under
        ``metadata_header``) and thumbnails ``label_img`` (N, C, H, W)."""
        mat = make_np(mat)
        if global_step is None:
            global_step = 0
        subdir = f"{str(global_step).zfill(5)}/{self._encode(tag)}"
        save_path = os.path.join(self._get_file_writer().get_logdir(), subdir)
        if os.path.exists(save_path):
            if os.path.isdir(save_path):
                print("warning: Embedding dir exists, did you set global_step for add_embedding()?")
            else:
                raise NotADirectoryError(f"Path: `{save_path}` exists, but is a file. Cannot proceed.")
        else:
            os.makedirs(save_path)
        if metadata is not None:
            if mat.shape[0] != len(metadata):
                raise AssertionError("#labels should equal with #data points")
            _write_tsv(metadata, save_path, metadata_header)
        if label_img is not None:
            label_img = make_np(label_img)
            if mat.shape[0] != label_img.shape[0]:
                raise AssertionError("#images should equal with #data points")
            _write_sprite(label_img, save_path)
        if mat.ndim != 2:
            raise AssertionError("mat should be 2D, where mat.size(0) is the number of data points")
        with open(os.path.join(save_path, "tensors.tsv"), "w") as f:
            for row in mat:
                f.write("\t".join(str(v.item()) for v in row) + "\n")
        entry = [f'  tensor_name: "{tag}:{str(global_step).zfill(5)}"', f'  tensor_path: "{subdir}/tensors.tsv"']
        if metadata is not None:
            entry.append(f'  metadata_path: "{subdir}/metadata.tsv"')
        if label_img is not None:
            entry += ["  sprite {", f'    image_path: "{subdir}/sprite.png"',
                      f"    single_image_dim: {label_img.shape[3]}", f"    single_image_dim: {label_img.shape[2]}",
                      "  }"]
        # the projector reads one config per run folder: rewrite it whole with every embedding so far
        self._projector = getattr(self, "_projector", []) + ["embeddings {\n" + "\n".join(entry) + "\n}\n"]
        with open(os.path.join(self._get_file_writer().get_logdir(), "projector_config.pbtxt"), "w") as f:
            f.write("".join(self._projector))

    # -- files ---------------------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write every pending event to disk."""
        if self.all_writers is None:
            return
        for w in self.all_writers.values():
            w.flush()

    def close(self) -> None:
        if self.all_writers is None:
            return
        for w in self.all_writers.values():
            w.flush()
            w.close()
        self.file_writer = self.all_writers = None

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        self.close()


def figure_to_image(figures, close: bool = True) -> np.ndarray:
    """A matplotlib figure as a (3, H, W) uint8 array (a list of figures as (N, 3, H, W))."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    def render(fig):
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        w, h = canvas.get_width_height()
        rgb = np.frombuffer(canvas.buffer_rgba(), np.uint8).reshape(h, w, 4)[:, :, :3]
        if close:
            import matplotlib.pyplot as plt
            plt.close(fig)
        return np.moveaxis(rgb, 2, 0)

    if isinstance(figures, list):
        return np.stack([render(f) for f in figures])
    return render(figures)


def _write_tsv(metadata, save_path: str, metadata_header=None) -> None:
    if metadata_header:
        if len(metadata_header) != len(metadata[0]):
            raise AssertionError("len of header must be equal to the number of columns in metadata")
        lines = ["\t".join(str(e) for e in row) for row in [metadata_header] + list(metadata)]
    else:
        lines = [str(x) for x in metadata]
    with open(os.path.join(save_path, "metadata.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


def _write_sprite(label_img: np.ndarray, save_path: str) -> None:
    """The thumbnails tiled into one square image, as the projector wants it."""
    import math

    from ..._png import write_png
    nrow = math.ceil(label_img.shape[0] ** 0.5)
    grid = _summary.make_grid(label_img, ncols=nrow).transpose(1, 2, 0)
    square = np.zeros((grid.shape[1], grid.shape[1], 3))
    square[:grid.shape[0]] = grid
    write_png(os.path.join(save_path, "sprite.png"), np.uint8((square * 255).clip(0, 255)))
