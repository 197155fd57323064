"""``torch.version``: which PyTorch this is, as a CPU build reports it.

dynagrad implements PyTorch 2.13's API, so it reports that version, with dynagrad's own release as the PEP 440
local label: scripts that compare versions (``torch.__version__ >= "2.0"``,
``packaging.version.parse(torch.__version__)``) see 2.13, and the label says what is really running.

>>> import dynagrad
>>> dynagrad.version.__version__
'2.13.0+dynagrad.0.1.0'
>>> dynagrad.version.cuda is None and dynagrad.version.hip is None
True
"""

dynagrad_version = "0.1.0"
torch_api_version = "2.13.0"
__version__ = f"{torch_api_version}+dynagrad.{dynagrad_version}"
git_version = "unknown"
debug = False
cuda = None
hip = None
rocm = None
xpu = None

__all__ = ["__version__", "debug", "cuda", "git_version", "hip", "rocm", "xpu"]
