"""Cases run identically against (torch, torchvision) - to record tests/golden/torchvision_*.npz - and
against (dynagrad, dynagrad.vision) - to check them. Each case is ``fn(torch, tv)`` returning a list of
values (PIL images, tensors, numbers, tuples); ``flatten`` turns them into named NumPy arrays.
Inputs are made with NumPy from fixed seeds, so both sides see the same pixels."""
from __future__ import annotations

import random
import re

import numpy as np

CASES: dict = {}
TOL: dict = {}  # case -> (rtol, atol) for float outputs; integers and PIL pixels compare exactly unless listed
LOOSE_INT: dict = {}  # case -> max |difference| allowed on integer outputs (tensor warps that round)


def case(tol=(1e-5, 1e-6), int_tol=0):
    def deco(fn):
        CASES[fn.__name__] = fn
        TOL[fn.__name__] = tol
        LOOSE_INT[fn.__name__] = int_tol
        return fn
    return deco


def rgb_array(h=20, w=24, seed=0) -> np.ndarray:
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def pil_rgb(h=20, w=24, seed=0):
    from PIL import Image
    return Image.fromarray(rgb_array(h, w, seed))


def pil_gray(h=28, w=28, seed=1):
    from PIL import Image
    return Image.fromarray(rgb_array(h, w, seed)[:, :, 0])


def float_img(torch, h=20, w=24, seed=2, c=3):
    return torch.from_numpy(np.random.default_rng(seed).random((c, h, w)).astype(np.float32))


def u8_img(torch, h=20, w=24, seed=4, c=3):
    return torch.from_numpy(np.ascontiguousarray(rgb_array(h, w, seed).transpose(2, 0, 1)[:c]))


def flatten(values) -> dict:
    """Named arrays: PIL images become their pixels plus a ``.mode`` entry; tensors their values plus a
    ``.dtype`` entry."""
    out: dict = {}

    def add(prefix, v):
        if isinstance(v, (list, tuple)):
            out[prefix + ".len"] = np.array(len(v))
            for i, x in enumerate(v):
                add(f"{prefix}.{i}", x)
        elif hasattr(v, "getbands"):
            out[prefix] = np.asarray(v).copy()
            out[prefix + ".mode"] = np.array(v.mode)
        elif hasattr(v, "detach"):
            out[prefix] = v.detach().numpy().copy()
            out[prefix + ".dtype"] = np.array(str(v.dtype))
        elif isinstance(v, str):
            out[prefix] = np.array(v)
        elif v is None:
            out[prefix] = np.array("None")
        else:
            out[prefix] = np.asarray(v)
    for i, v in enumerate(values):
        add(str(i), v)
    return out


def _draws(torch, n=1):
    """Where the global stream stands afterwards, so a transform that draws one number too many shows."""
    return torch.rand(n)


# -- deterministic --------------------------------------------------------------------------------------------

@case()
def conversions(torch, tv):
    T = tv.transforms
    img, g = pil_rgb(), pil_gray()
    t = T.ToTensor()(img)
    return [t, T.ToTensor()(g), T.PILToTensor()(img), T.ToPILImage()(t), T.ToPILImage()(T.ToTensor()(g)),
            T.ToPILImage()(u8_img(torch)), T.ToTensor()(rgb_array()), T.ToTensor()(rgb_array()[:, :, 0]),
            T.ConvertImageDtype(torch.float32)(u8_img(torch)), T.ConvertImageDtype(torch.uint8)(float_img(torch)),
            T.ToPILImage()(float_img(torch) * 2 - 0.5), T.ToPILImage(mode="HSV")(u8_img(torch))]


@case()
def normalize(torch, tv):
    T = tv.transforms
    x = float_img(torch)
    return [T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))(x),
            T.Normalize([0.1307], [0.3081])(T.ToTensor()(pil_gray())),
            T.Compose([T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])(pil_rgb())]


@case()
def resize_pil(torch, tv):
    T = tv.transforms
    I = T.InterpolationMode
    img, g = pil_rgb(), pil_gray()
    return [T.Resize((13, 17))(img), T.Resize(10)(img), T.Resize(15, I.NEAREST)(img), T.Resize(30, I.BICUBIC)(img),
            T.Resize(9, max_size=11)(img), T.Resize(32)(g), T.Resize([7])(g), T.Resize(40, I.LANCZOS)(img),
            T.Resize(16, I.BOX)(img), T.Resize(16, I.HAMMING)(img)]


@case(tol=(1e-5, 2e-5))
def resize_tensor(torch, tv):
    T = tv.transforms
    I = T.InterpolationMode
    x, u = float_img(torch), u8_img(torch)
    return [T.Resize((13, 17))(x), T.Resize(10)(x), T.Resize(30)(x), T.Resize((13, 17), antialias=False)(x),
            T.Resize(15, I.NEAREST)(x), T.Resize(10)(u), T.Resize(12, I.BICUBIC)(x), T.Resize(31, I.NEAREST_EXACT)(x),
            T.Resize(8)(x[None].repeat(2, 1, 1, 1))]


@case()
def crops_and_pads(torch, tv):
    T = tv.transforms
    img, x, u = pil_rgb(), float_img(torch), u8_img(torch)
    out = []
    for im in (img, x, u):
        out += [T.CenterCrop(10)(im), T.CenterCrop((9, 30))(im), T.CenterCrop(25)(im), T.Pad(3)(im),
                T.Pad((1, 2))(im), T.Pad((1, 2, 3, 4), fill=7)(im), T.Pad(2, padding_mode="edge")(im),
                T.Pad(3, padding_mode="reflect")(im), T.Pad((2, 3), padding_mode="symmetric")(im),
                T.FiveCrop(8)(im), T.TenCrop((6, 9))(im)]
    out.append(T.Pad(2, fill=(10, 20, 30))(img))
    return out


@case()
def flips_gray_colour_pil(torch, tv):
    T = tv.transforms
    F = T.functional
    img = pil_rgb()
    return [F.hflip(img), F.vflip(img), T.Grayscale()(img), T.Grayscale(3)(img), F.adjust_brightness(img, 1.3),
            F.adjust_contrast(img, 0.6), F.adjust_saturation(img, 1.7), F.adjust_hue(img, 0.2),
            F.adjust_hue(img, -0.35), F.adjust_gamma(img, 0.8), F.adjust_sharpness(img, 2.0), F.invert(img),
            F.posterize(img, 3), F.solarize(img, 100), F.autocontrast(img), F.equalize(img),
            F.gaussian_blur(img, 5, 1.2), F.gaussian_blur(pil_gray(), [3, 7], [0.8, 1.5])]


@case(tol=(1e-5, 1e-5))
def colour_tensor(torch, tv):
    F = tv.transforms.functional
    x, u = float_img(torch), u8_img(torch)
    out = []
    for im in (x, u):
        out += [F.rgb_to_grayscale(im), F.rgb_to_grayscale(im, 3), F.adjust_brightness(im, 1.3),
                F.adjust_contrast(im, 0.6), F.adjust_saturation(im, 1.7), F.adjust_hue(im, 0.2),
                F.adjust_gamma(im, 0.8), F.adjust_sharpness(im, 2.0), F.invert(im), F.autocontrast(im),
                F.gaussian_blur(im, 5, 1.2), F.solarize(im, 0.5 if im.dtype == torch.float32 else 100)]
    out += [F.posterize(u, 3), F.equalize(u), F.erase(x, 2, 3, 5, 6, torch.zeros(3, 1, 1))]
    return out


@case()
def rotate_affine_pil(torch, tv):
    F = tv.transforms.functional
    I = tv.transforms.InterpolationMode
    img, g = pil_rgb(), pil_gray()
    return [F.rotate(img, 30), F.rotate(img, -47.5, I.BILINEAR), F.rotate(img, 30, expand=True),
            F.rotate(img, 15, center=[3, 4], fill=[10, 20, 30]), F.rotate(g, 12.3, fill=255),
            F.affine(img, 20, [2, -3], 1.1, [5, 0]), F.affine(img, -10, [0, 0], 0.9, [3, -4], I.BILINEAR, fill=9),
            F.affine(g, 5, [1, 1], 1.0, 0.0, center=[0, 0]),
            F.perspective(img, [[0, 0], [23, 0], [23, 19], [0, 19]], [[2, 1], [21, 0], [22, 18], [1, 17]])]


@case(tol=(1e-4, 1e-4))
def rotate_affine_tensor(torch, tv):
    F = tv.transforms.functional
    I = tv.transforms.InterpolationMode
    x, u = float_img(torch), u8_img(torch)
    out = []
    for im in (x, u):
        out += [F.rotate(im, 30), F.rotate(im, -47.5, I.BILINEAR), F.rotate(im, 30, expand=True),
                F.rotate(im, 15, center=[3, 4], fill=[0.1, 0.2, 0.3]), F.affine(im, 20, [2, -3], 1.1, [5, 0]),
                F.affine(im, -10, [0, 0], 0.9, [3, -4], I.BILINEAR, fill=[0.5])]
    return out


# -- random parameters, drawn as torchvision draws them ----------------------------------------------------

def _seeded(torch, seed):
    torch.manual_seed(seed)
    random.seed(seed)


@case()
def random_params(torch, tv):
    T = tv.transforms
    img = pil_rgb()
    out = []
    for seed in (0, 1, 7):
        _seeded(torch, seed)
        out.append(T.RandomCrop.get_params(img, (11, 13)))
        out.append(T.RandomResizedCrop.get_params(img, [0.08, 1.0], [3 / 4, 4 / 3]))
        out.append(T.RandomResizedCrop.get_params(img, [0.9, 1.0], [3.0, 4.0]))  # falls back to a centre crop
        out.append(T.RandomRotation.get_params([-30.0, 30.0]))
        out.append(T.RandomAffine.get_params([-10.0, 10.0], [0.1, 0.2], [0.8, 1.2], [-5.0, 5.0, -3.0, 3.0], [24, 20]))
        out.append(T.RandomAffine.get_params([0.0, 0.0], None, None, None, [24, 20]))
        fn_idx, b, c, s, h = T.ColorJitter.get_params((0.6, 1.4), (0.7, 1.3), None, (-0.1, 0.1))
        out += [fn_idx, b, c, s, h]
        out.append(T.GaussianBlur.get_params(0.1, 2.0))
        out.append(T.RandomPerspective.get_params(24, 20, 0.5))
        i, j, h_, w_, v = T.RandomErasing.get_params(float_img(torch), (0.02, 0.33), (0.3, 3.3), None)
        out += [i, j, h_, w_, v]
        out.append(_draws(torch))
    return out


@case()
def random_transforms_pil(torch, tv):
    T = tv.transforms
    I = T.InterpolationMode
    img, g = pil_rgb(), pil_gray()
    pipes = [T.RandomCrop(16, padding=4), T.RandomCrop(20, padding=2, padding_mode="reflect"),
             T.RandomCrop(30, pad_if_needed=True, fill=5), T.RandomCrop((20, 10)), T.RandomResizedCrop(12),
             T.RandomResizedCrop((10, 14), scale=(0.5, 1.0), interpolation=I.BICUBIC), T.RandomHorizontalFlip(),
             T.RandomVerticalFlip(0.7), T.RandomRotation(30), T.RandomRotation((-10, 40), I.BILINEAR, expand=True),
             T.RandomAffine(15, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=10),
             T.RandomAffine(0, shear=(-5, 5, -5, 5), interpolation=I.BILINEAR, fill=(1, 2, 3)),
             T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.ColorJitter(brightness=(0.5, 1.5), hue=0.3), T.RandomGrayscale(0.5),
             T.GaussianBlur(5, sigma=(0.1, 2.0)), T.RandomPerspective(0.4, p=0.8),
             T.RandomApply([T.ColorJitter(0.5, 0.5), T.RandomRotation(20)], p=0.5),
             T.RandomChoice([T.RandomRotation(10), T.CenterCrop(12), T.Grayscale(3)]),
             T.RandomOrder([T.RandomHorizontalFlip(1.0), T.RandomRotation(20), T.CenterCrop(14)]),
             T.RandomInvert(), T.RandomPosterize(3), T.RandomSolarize(128), T.RandomAdjustSharpness(2),
             T.RandomAutocontrast(), T.RandomEqualize()]
    out = []
    for k, t in enumerate(pipes):
        _seeded(torch, 100 + k)
        third = img if isinstance(t, T.RandomGrayscale) or isinstance(getattr(t, "fill", 0), tuple) else g
        out += [t(img), t(img), t(third)]
        out.append(_draws(torch))
    return out


@case(tol=(1e-4, 1e-4))
def random_transforms_tensor(torch, tv):
    T = tv.transforms
    x, u = float_img(torch), u8_img(torch)
    pipes = [T.RandomCrop(16, padding=4), T.RandomCrop(20, padding=2, padding_mode="reflect"),
             T.RandomResizedCrop(12), T.RandomHorizontalFlip(), T.RandomRotation(30),
             T.RandomAffine(15, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=10), T.ColorJitter(0.4, 0.4, 0.4, 0.1),
             T.GaussianBlur(5), T.RandomErasing(p=1.0), T.RandomErasing(p=0.8, value="random"),
             T.RandomErasing(p=1.0, value=(0.1, 0.2, 0.3), scale=(0.1, 0.5)), T.RandomGrayscale(0.5)]
    out = []
    for k, t in enumerate(pipes):
        _seeded(torch, 200 + k)
        out += [t(x.clone()), t(x.clone())]
        if not isinstance(t, T.RandomErasing):
            out.append(t(u))
        out.append(_draws(torch))
    return out


@case()
def auto_augment_pil(torch, tv):
    T = tv.transforms
    img = pil_rgb()
    out = []
    for k, t in enumerate([T.AutoAugment(), T.AutoAugment(T.AutoAugmentPolicy.CIFAR10),
                           T.AutoAugment(T.AutoAugmentPolicy.SVHN), T.TrivialAugmentWide(), T.RandAugment()]):
        for seed in range(6):
            _seeded(torch, 300 + 10 * k + seed)
            out.append(t(img))
            out.append(_draws(torch))
    return out


@case(tol=(1e-5, 1e-5))
def v2_pipeline(torch, tv):
    from importlib import import_module
    v2 = import_module(tv.__name__ + ".transforms.v2")
    img = pil_rgb()
    out = []
    pipes = [
        v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5] * 3, [0.25] * 3)]),
        v2.Compose([v2.RandomResizedCrop(12), v2.RandomHorizontalFlip(), v2.ToImage(),
                    v2.ToDtype(torch.float32, scale=True)]),
        v2.Compose([v2.RandomCrop(16, padding=4), v2.RandomRotation(15), v2.PILToTensor()]),
        v2.Compose([v2.RandomCrop((20, 16)), v2.ColorJitter(0.3, 0.3, 0.3), v2.Grayscale(), v2.PILToTensor()]),
        v2.Compose([v2.ToImage(), v2.RandomErasing(p=1.0)]),
        v2.Compose([v2.Resize(10), v2.CenterCrop(8), v2.RandomVerticalFlip(0.6), v2.PILToTensor()]),
    ]
    for k, t in enumerate(pipes):
        _seeded(torch, 400 + k)
        a = t(img)
        b, label = t(img, 3)
        out += [a, b, label, _draws(torch)]
    return out


@case()
def make_grid_and_save(torch, tv):
    import io as _io

    from PIL import Image
    U = tv.utils
    batch = float_img(torch, 6, 5, seed=9, c=3 * 5).reshape(5, 3, 6, 5)
    gray = float_img(torch, 4, 4, seed=10, c=3).reshape(3, 1, 4, 4) * 3 - 1
    out = [U.make_grid(batch), U.make_grid(batch, nrow=2, padding=1, pad_value=0.5),
           U.make_grid(gray, normalize=True), U.make_grid(gray, normalize=True, scale_each=True),
           U.make_grid(gray, normalize=True, value_range=(-1, 1)), U.make_grid(list(batch[:3]), nrow=3, padding=0),
           U.make_grid(batch[0]), U.make_grid(gray[0, 0])]
    buf = _io.BytesIO()
    U.save_image(batch, buf, format="png", nrow=3)
    out.append(np.asarray(Image.open(_io.BytesIO(buf.getvalue()))))
    buf = _io.BytesIO()
    U.save_image(gray, buf, format="png", normalize=True)
    out.append(np.asarray(Image.open(_io.BytesIO(buf.getvalue()))))
    return out


@case()
def io_roundtrip(torch, tv):
    import os
    import tempfile
    io = tv.io
    d = tempfile.mkdtemp()
    u = u8_img(torch)
    p = os.path.join(d, "a.png")
    io.write_png(u, p)
    j = os.path.join(d, "a.jpg")
    io.write_jpeg(u, j, quality=90)
    g = os.path.join(d, "g.png")
    io.write_png(u[:1], g)
    from PIL import Image
    jq = os.path.join(d, "b.jpg")
    Image.fromarray(rgb_array(37, 53, seed=5)).save(jq, quality=85)  # the same JPEG bytes for both sides
    return [io.read_image(jq), io.read_image(jq, io.ImageReadMode.GRAY), io.read_image(jq, io.ImageReadMode.RGB),
            io.read_image(p), io.read_image(g, io.ImageReadMode.RGB),
            io.decode_image(io.read_file(p)), io.read_image(j).shape, io.decode_image(io.encode_png(u)),
            io.read_image(g)]


@case(int_tol=1)
def io_gray(torch, tv):
    """Colour to grey on reading: libpng's conversion (torchvision) and Pillow's (dynagrad) differ by at
    most one level on some pixels."""
    import os
    import tempfile
    io = tv.io
    p = os.path.join(tempfile.mkdtemp(), "a.png")
    io.write_png(u8_img(torch), p)
    return [io.read_image(p, io.ImageReadMode.GRAY)]


@case()
def fake_data(torch, tv):
    ds = tv.datasets.FakeData(size=5, image_size=(3, 6, 7), num_classes=4, random_offset=3)
    torch.manual_seed(11)
    out = [len(ds)]
    for i in (0, 4, 2):
        img, y = ds[i]
        out += [img, y]
    out.append(_draws(torch))  # FakeData puts the global generator back
    ds = tv.datasets.FakeData(size=2, image_size=(1, 5, 5), transform=tv.transforms.ToTensor())
    out += list(ds[1])
    return out


# -- models ---------------------------------------------------------------------------------------------------

MODEL_NAMES = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2",
               "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "alexnet", "mobilenet_v2", "mobilenet_v3_small",
               "mobilenet_v3_large", "squeezenet1_0", "squeezenet1_1", "densenet121", "efficientnet_b0",
               "efficientnet_v2_s", "vit_b_16", "convnext_tiny", "shufflenet_v2_x1_0"]

# (name, builder kwargs): built after manual_seed(0); weights and a forward pass are compared
SEEDED = [("resnet18", {"num_classes": 10}), ("resnet50", {"num_classes": 10}),
          ("mobilenet_v2", {"num_classes": 10}), ("mobilenet_v3_small", {"num_classes": 10}),
          ("squeezenet1_1", {"num_classes": 10}), ("densenet121", {"num_classes": 10}),
          ("efficientnet_b0", {"num_classes": 10}), ("shufflenet_v2_x0_5", {"num_classes": 10}),
          ("vit_tiny", {"image_size": 32, "patch_size": 8, "num_layers": 2, "num_heads": 2, "hidden_dim": 16,
                        "mlp_dim": 32, "num_classes": 10})]


def model_keys(tv, name) -> list:
    m = tv.models.get_model(name)
    return [[k, list(v.shape), str(v.dtype)] for k, v in m.state_dict().items()]


def seeded_model(torch, tv, name, kwargs) -> dict:
    torch.manual_seed(0)
    if name == "vit_tiny":
        m = tv.models.VisionTransformer(**kwargs)
    else:
        m = tv.models.get_model(name, **kwargs)
    out = {}
    for k, v in m.state_dict().items():
        a = v.detach().numpy().astype(np.float64).reshape(-1)
        out[k] = np.array([a.sum(), np.abs(a).sum()] + list(a[:3]) + [0.0] * (3 - min(3, a.size)))
    x = torch.randn(2, 3, 64 if name == "alexnet" else 32, 64 if name == "alexnet" else 32)
    m.eval()
    with torch.no_grad():
        out["__forward__"] = m(x).numpy().astype(np.float64)
    return out


# -- datasets ---------------------------------------------------------------------------------------------------

def make_folder(root: str) -> None:
    import os

    from PIL import Image
    for k, cls in enumerate(("cat", "dog", "emu")):
        os.makedirs(os.path.join(root, "folder", cls, "sub"), exist_ok=True)
        for i in range(2 + k):
            sub = "sub" if i == 1 else ""
            Image.fromarray(rgb_array(5 + i, 7, seed=10 * k + i)).save(os.path.join(root, "folder", cls, sub,
                                                                                   f"{i}.png"))
        with open(os.path.join(root, "folder", cls, "notes.txt"), "w") as f:
            f.write("not an image")


def dataset_facts(torch, tv, root: str) -> list:
    D = tv.datasets
    T = tv.transforms
    out = []

    def describe(ds, idx=(0, 3)):
        vals = [len(ds), list(getattr(ds, "classes", [])), sorted(getattr(ds, "class_to_idx", {}).items())]
        for i in idx:
            img, y = ds[i]
            vals += [img, type(y).__name__, y]
        t = ds.targets
        vals.append(np.asarray(t.numpy() if hasattr(t, "numpy") else t))
        d = getattr(ds, "data", None)
        if d is not None:
            vals += [type(d).__name__, np.asarray(d.numpy() if hasattr(d, "numpy") else d)[:2]]
        vals.append(re.sub(r" at 0x[0-9a-f]+", "", repr(ds).replace(root, "<root>")))
        return vals

    out += describe(D.MNIST(root, train=True, download=True))
    out += describe(D.MNIST(root, train=False, transform=T.ToTensor(), target_transform=lambda y: y + 1))
    out += describe(D.FashionMNIST(root, train=False))
    out += describe(D.KMNIST(root, train=False))
    out += describe(D.EMNIST(root, split="balanced", train=False))
    out += describe(D.CIFAR10(root, train=True))
    out += describe(D.CIFAR10(root, train=False, transform=T.ToTensor()), idx=(1, 4))
    out += describe(D.CIFAR100(root, train=True))
    ds = D.ImageFolder(root + "/folder", transform=T.ToTensor())
    out += [len(ds), ds.classes, sorted(ds.class_to_idx.items()), [(p.replace(root, "<root>"), y) for p, y in
                                                                  ds.samples], ds.targets, ds[0][0], ds[5][1]]
    ds = D.ImageFolder(root + "/folder")
    out += [ds[2][0], repr(ds).replace(root, "<root>")]
    ds = D.DatasetFolder(root + "/folder", loader=lambda p: open(p).read(), extensions=(".txt",))
    out += [len(ds), ds[1]]
    return out
