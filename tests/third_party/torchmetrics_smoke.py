"""torchmetrics' basic metrics over batches: classification, regression, collections, the functional API."""
import torch
import torchmetrics
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection, R2Score
from torchmetrics.classification import AUROC, Accuracy, ConfusionMatrix, F1Score, Precision, Recall
from torchmetrics.functional import accuracy, f1_score, mean_squared_error


def show(name, value):  # 4 decimals: float32 sums may differ from PyTorch in the last bit
    if isinstance(value, dict):
        for k in sorted(value):
            show(f"{name}.{k}", value[k])
        return
    print(name, value.dtype, [round(v, 4) for v in value.flatten().tolist()])


torch.manual_seed(0)
acc = Accuracy(task="multiclass", num_classes=4)
acc_micro = Accuracy(task="multiclass", num_classes=4, average="micro")
f1 = F1Score(task="multiclass", num_classes=4, average="macro")
cm = ConfusionMatrix(task="multiclass", num_classes=4)
auroc = AUROC(task="multiclass", num_classes=4)
for step in range(3):
    logits = torch.randn(16, 4)
    target = torch.randint(0, 4, (16,))
    show(f"batch{step}.acc", acc(logits, target))  # forward: this batch's value, and accumulates
    acc_micro.update(logits.argmax(1), target)
    f1.update(logits, target)
    cm.update(logits, target)
    auroc.update(logits.softmax(-1), target)
show("acc", acc.compute())
show("acc_micro", acc_micro.compute())
show("f1", f1.compute())
show("confusion", cm.compute())
show("auroc", auroc.compute())
acc.reset()
acc.update(torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 2, 2]))
show("after reset", acc.compute())

binary = MetricCollection({"p": Precision(task="binary"), "r": Recall(task="binary"),
                           "f1": F1Score(task="binary")}, prefix="val_")
probs = torch.rand(20)
labels = (torch.rand(20) > 0.5).long()
binary.update(probs, labels)
show("binary", binary.compute())

mse, mae, r2 = MeanSquaredError(), MeanAbsoluteError(), R2Score()
rmse = MeanSquaredError(squared=False)
for _ in range(2):
    pred, true = torch.randn(10), torch.randn(10)
    for m in (mse, mae, r2, rmse):
        m.update(pred, true)
show("mse", mse.compute())
show("mae", mae.compute())
show("r2", r2.compute())
show("rmse", rmse.compute())

p, t = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]), torch.tensor([1, 0, 0])
show("functional.accuracy", accuracy(p, t, task="multiclass", num_classes=2))
show("functional.f1", f1_score(p, t, task="multiclass", num_classes=2, average="weighted"))
show("functional.mse", mean_squared_error(torch.tensor([1.0, 2.0]), torch.tensor([1.5, 2.5])))
print("metric states", sorted(mse.state_dict().keys()), sorted(k for k in acc.metric_state))
print("version check", torchmetrics.utilities.imports._TORCH_GREATER_EQUAL_2_1)
