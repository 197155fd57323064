"""Model architectures with torchvision's names, layer names, shapes and initialisation (``resnet18``,
``vgg16_bn``, ``mobilenet_v3_small``, ``efficientnet_b0``, ``vit_b_16``, ...), so torchvision checkpoints
fit and ``dynagrad.manual_seed(s)`` gives torchvision's initial weights. Weights are never downloaded:
``weights=...`` reads the checkpoint from the hub cache (``$TORCH_HOME/hub/checkpoints``) or from a file
path you pass, and otherwise raises an error naming the file.

>>> import dynagrad
>>> from dynagrad.vision import models
>>> net = models.get_model("resnet18", num_classes=10).eval()
>>> net(dynagrad.randn(1, 3, 32, 32)).shape
torch.Size([1, 10])
"""
from ._api import Weights, WeightsEnum, get_model, get_model_builder, get_model_weights, get_weight, list_models  # noqa: F401
from .alexnet import *  # noqa: F401,F403
from .convnext import *  # noqa: F401,F403
from .densenet import *  # noqa: F401,F403
from .efficientnet import *  # noqa: F401,F403
from .mobilenetv2 import *  # noqa: F401,F403
from .mobilenetv2 import MobileNetV2  # noqa: F401  (torchvision.models.mobilenet re-exports both)
from .mobilenetv3 import *  # noqa: F401,F403
from .mobilenetv3 import MobileNetV3  # noqa: F401
from .resnet import *  # noqa: F401,F403
from .shufflenetv2 import *  # noqa: F401,F403
from .squeezenet import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403
from .vision_transformer import *  # noqa: F401,F403


def __getattr__(name: str):
    raise AttributeError(f"module 'torchvision.models' has no attribute '{name}' (dynagrad.vision does not provide it)")
