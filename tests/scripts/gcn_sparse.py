"""A graph convolutional network trained on a synthetic graph the way the official pytorch/examples GCN builds
its normalised sparse adjacency (D^-1/2 (A + I) D^-1/2 through sparse products) and trains with torch.spmm."""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import Adam


class GraphConv(nn.Module):
    def __init__(self, input_dim, output_dim, use_bias=False):
        super().__init__()
        self.kernel = nn.Parameter(torch.Tensor(input_dim, output_dim))
        nn.init.xavier_normal_(self.kernel)
        self.bias = None
        if use_bias:
            self.bias = nn.Parameter(torch.Tensor(output_dim))
            nn.init.zeros_(self.bias)

    def forward(self, input_tensor, adj_mat):
        support = torch.mm(input_tensor, self.kernel)
        output = torch.spmm(adj_mat, support)
        if self.bias is not None:
            output = output + self.bias
        return output


class GCN(nn.Module):
    def __init__(self, input_dim, hidden_dim, output_dim, use_bias=True, dropout_p=0.1):
        super().__init__()
        self.gc1 = GraphConv(input_dim, hidden_dim, use_bias=use_bias)
        self.gc2 = GraphConv(hidden_dim, output_dim, use_bias=use_bias)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, input_tensor, adj_mat):
        x = self.gc1(input_tensor, adj_mat)
        x = F.relu(x)
        x = self.dropout(x)
        x = self.gc2(x, adj_mat)
        return F.log_softmax(x, dim=1)


def load_graph(device="cpu"):
    rng = np.random.default_rng(0)
    n_nodes, n_feats, n_classes = 60, 20, 4
    content = (rng.random((n_nodes, n_feats)) < 0.15).astype(np.int32)
    labels_np = rng.integers(0, n_classes, n_nodes)
    edges = rng.integers(0, n_nodes, (150, 2)).astype(np.int32)
    features = torch.FloatTensor(content)
    scale_vector = torch.sum(features, dim=1)
    scale_vector = 1 / scale_vector
    scale_vector[scale_vector == float("inf")] = 0
    scale_vector = torch.diag(scale_vector).to_sparse()
    features = scale_vector @ features
    labels = torch.LongTensor(labels_np)
    V, E = n_nodes, edges.shape[0]
    adj_mat = torch.sparse_coo_tensor(edges.T, torch.ones(E), (V, V), dtype=torch.int64)
    adj_mat = torch.eye(V) + adj_mat
    degree_mat = torch.sum(adj_mat, dim=1)
    degree_mat = torch.sqrt(1 / degree_mat)
    degree_mat[degree_mat == float("inf")] = 0
    degree_mat = torch.diag(degree_mat).to_sparse()
    adj_mat = degree_mat @ adj_mat @ degree_mat
    return features.to_sparse().to(device), labels.to(device), adj_mat.to_sparse().to(device)


def test(model, criterion, inputs, target, mask):
    model.eval()
    with torch.no_grad():
        output = model(*inputs)
        output, target = output[mask], target[mask]
        loss = criterion(output, target)
        acc = (output.argmax(dim=1) == target).float().sum() / len(target)
    return loss.item(), acc.item()


if __name__ == "__main__":
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(42)
    features, labels, adj_mat = load_graph(device)
    print("adjacency:", adj_mat.shape, "nnz", adj_mat._nnz(), "sparse", adj_mat.is_sparse)
    idx = torch.randperm(len(labels)).to(device)
    idx_test, idx_val, idx_train = idx[:15], idx[15:30], idx[30:]
    # dropout off: dynagrad's dropout masks are not drawn as PyTorch's MKL build draws them, and this script's
    # printed numbers are compared with PyTorch's
    gcn = GCN(features.shape[1], 16, labels.max().item() + 1, True, 0.0).to(device)
    optimizer = Adam(gcn.parameters(), lr=0.01, weight_decay=5e-4)
    criterion = nn.NLLLoss()
    for epoch in range(1, 31):
        gcn.train()
        optimizer.zero_grad()
        output = gcn(features, adj_mat)
        loss = criterion(output[idx_train], labels[idx_train])
        loss.backward()
        optimizer.step()
        if epoch % 10 == 0:
            lt, at = test(gcn, criterion, (features, adj_mat), labels, idx_train)
            lv, av = test(gcn, criterion, (features, adj_mat), labels, idx_val)
            print(f"Epoch: {epoch:04d} loss_train: {lt:.4f} acc_train: {at:.4f} loss_val: {lv:.4f} acc_val: {av:.4f}")
    loss_test, acc_test = test(gcn, criterion, (features, adj_mat), labels, idx_test)
    print(f"Test set results: loss {loss_test:.4f} accuracy {acc_test:.4f}")
