"""Old-style PyTorch (0.3/0.4 era, still running on 2.x): legacy tensor constructors, Variable, .data, type
strings and checks, index forms (range, NumPy arrays), and pygcn's legacy sparse constructor."""
import numpy as np
import torch
import torch.nn as nn
from torch.autograd import Variable

torch.manual_seed(3)
batch, nz = 8, 5
noise = torch.FloatTensor(batch, nz).normal_(0, 1)
label = torch.FloatTensor(batch)
label.data.resize_(batch).fill_(1)
idx_train = torch.LongTensor(range(4))
idx_rows = torch.LongTensor(np.where(np.eye(3))[1])
print(noise.type(), label.type(), idx_train.type(), idx_rows.tolist())
print(isinstance(noise, torch.FloatTensor), isinstance(noise.data, torch.cuda.FloatTensor),
      isinstance(idx_train, torch.LongTensor), isinstance(noise, torch.DoubleTensor))
print(noise.type(torch.DoubleTensor).dtype, noise.type("torch.IntTensor").dtype, torch.typename(noise))

net = nn.Sequential(nn.Linear(nz, 6), nn.Tanh(), nn.Linear(6, 1), nn.Sigmoid())
criterion = nn.BCELoss()
opt = torch.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
x = Variable(noise)
y = Variable(label)
for step in range(6):
    net.zero_grad()
    out = net(x).view(-1)
    err = criterion(out, y)
    err.backward()
    opt.step()
    y.data.fill_(float(step % 2))
    print("step %d loss %.4f mean %.4f" % (step, err.data.item(), out.data.mean()))  # noqa: UP031 - old style

sub = noise[range(2, 5)]
sub2 = noise[np.array([0, 7]), :][:, [True, False, True, False, True]]
print("indexed", sub.shape, [round(v, 4) for v in sub2.flatten().tolist()])

# pygcn: scipy-style COO arrays to a legacy sparse tensor, then torch.spmm
rows = np.array([0, 1, 2, 2, 3], dtype=np.int64)
cols = np.array([1, 0, 3, 2, 2], dtype=np.int64)
vals = np.array([0.5, 0.5, 0.25, 0.5, 0.25], dtype=np.float32)
indices = torch.from_numpy(np.vstack((rows, cols)).astype(np.int64))
values = torch.from_numpy(vals)
adj = torch.sparse.FloatTensor(indices, values, torch.Size((4, 4)))
feat = torch.FloatTensor(np.arange(8, dtype=np.float32).reshape(4, 2))
w = nn.Parameter(torch.FloatTensor(2, 3))
w.data.uniform_(-0.5, 0.5)
out = torch.spmm(adj, torch.mm(feat, w))
out.sum().backward()
print("spmm", [round(v, 4) for v in out.flatten().tolist()])
print("grad", [round(v, 4) for v in w.grad.flatten().tolist()])
