"""kornia's differentiable image operations on torch tensors: colour, filters, geometry, losses, augmentation."""
import kornia
import kornia.augmentation as K
import torch


def show(name, t):  # 4 significant digits: float32 convolutions may differ from PyTorch's in the last bits
    print(name, tuple(t.shape), t.dtype, f"{t.double().sum().item():.4g}", f"{t.double().abs().max().item():.4g}")


torch.manual_seed(0)
img = torch.rand(2, 3, 16, 16, requires_grad=True)
show("gray", kornia.color.rgb_to_grayscale(img))
show("hsv", kornia.color.rgb_to_hsv(img))
show("lab", kornia.color.rgb_to_lab(img))
show("blur", kornia.filters.gaussian_blur2d(img, (5, 5), (1.5, 1.5)))
show("sobel", kornia.filters.sobel(img))
show("median", kornia.filters.median_blur(img, (3, 3)))
mag, edges = kornia.filters.canny(img.detach())
show("canny", edges)
show("rotate", kornia.geometry.transform.rotate(img, torch.tensor([30.0, -45.0])))
M = kornia.geometry.transform.get_rotation_matrix2d(torch.tensor([[8.0, 8.0]]).repeat(2, 1), torch.tensor([15.0, 60.0]),
                                                    torch.ones(2, 2))
show("warp_affine", kornia.geometry.transform.warp_affine(img, M, (16, 16)))
show("resize", kornia.geometry.transform.resize(img, (8, 12)))
show("pyrdown", kornia.geometry.transform.pyrdown(img))
other = torch.rand(2, 3, 16, 16)
loss = kornia.losses.ssim_loss(img, other, window_size=5) + kornia.losses.total_variation(img).mean() * 1e-3
print("loss", f"{loss.item():.4g}")
loss.backward()
show("grad", img.grad)
print("psnr", round(kornia.metrics.psnr(img.detach(), other, 1.0).item(), 4))

aug = torch.nn.Sequential(K.RandomHorizontalFlip(p=0.5), K.ColorJitter(0.2, 0.2, 0.2, 0.1, p=1.0),
                          K.RandomAffine(degrees=20.0, p=1.0))
torch.manual_seed(1)
out = aug(img.detach())
show("augmented", out)
print("flip params", aug[0]._params["batch_prob"].tolist())
print("jitter brightness", [round(v, 5) for v in aug[1]._params["brightness_factor"].tolist()])
