"""timm under dynagrad run: model building (parameter counts as timm's model cards give them), a ResNet's
outputs equal torchvision's for the same weights, a training step with timm's optimizer factory, and the data
config/transforms. (timm needs torchvision, which does not import beside the torch 2.13 CPU wheel, so this
script cannot run under that torch: the test checks its output against these facts instead.)"""
import timm
import timm.data
import timm.optim
import torch
import torch.nn.functional as F
import torchvision

torch.manual_seed(0)
# (ViT and ConvNeXt initialise with trunc_normal_, whose erfinv_ is slow in dynagrad: small ones only here)
for name in ["resnet18", "efficientnet_b0", "mobilenetv3_small_100"]:
    model = timm.create_model(name, pretrained=False)
    print(name, sum(p.numel() for p in model.parameters()))

net = timm.create_model("resnet18", num_classes=10).eval()
ref = torchvision.models.resnet18(num_classes=10).eval()
print("state dict keys equal", list(net.state_dict()) == list(ref.state_dict()))
ref.load_state_dict(net.state_dict())
x = torch.randn(2, 3, 64, 64)
with torch.no_grad():
    print("same outputs as torchvision", torch.allclose(net(x), ref(x), atol=1e-5))

vit = timm.models.VisionTransformer(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_classes=5)
print("vit", sum(p.numel() for p in vit.parameters()), tuple(vit(torch.randn(2, 3, 32, 32)).shape))

net.train()
opt = timm.optim.create_optimizer_v2(net, "adamw", lr=1e-3, weight_decay=0.05)
print("optimizer", type(opt).__name__, [len(g["params"]) for g in opt.param_groups],
      [g["weight_decay"] for g in opt.param_groups])
y = torch.tensor([1, 7])
losses = []
for _ in range(3):
    loss = F.cross_entropy(net(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())
print("loss decreases", losses[2] < losses[0])
cfg = timm.data.resolve_data_config({}, model=net)
print("data config", cfg["input_size"], cfg["interpolation"], cfg["crop_pct"])
print(timm.data.create_transform(**cfg))
