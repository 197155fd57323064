"""A character-level LSTM language model, trained on the opening of "Alice's Adventures in Wonderland"
(Lewis Carroll, 1865; public domain), that then writes some text of its own.

    python examples/char_lstm.py             # under a minute; prints the loss falling and a sample

Training reads random 64-character windows; sampling feeds the LSTM one character at a time, carrying its
``(h, c)`` state from step to step.

Written against the PyTorch API: ``import dynagrad as torch`` is the only change from a PyTorch script.
"""

import time

import numpy as np

import dynagrad as torch
import dynagrad.nn as nn
import dynagrad.nn.functional as F

TEXT = """\
Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do: \
once or twice she had peeped into the book her sister was reading, but it had no pictures or conversations \
in it, 'and what is the use of a book,' thought Alice 'without pictures or conversations?'
So she was considering in her own mind (as well as she could, for the hot day made her feel very sleepy and \
stupid), whether the pleasure of making a daisy-chain would be worth the trouble of getting up and picking \
the daisies, when suddenly a White Rabbit with pink eyes ran close by her.
There was nothing so very remarkable in that; nor did Alice think it so very much out of the way to hear \
the Rabbit say to itself, 'Oh dear! Oh dear! I shall be late!' (when she thought it over afterwards, it \
occurred to her that she ought to have wondered at this, but at the time it all seemed quite natural); but \
when the Rabbit actually took a watch out of its waistcoat-pocket, and looked at it, and then hurried on, \
Alice started to her feet, for it flashed across her mind that she had never before seen a rabbit with \
either a waistcoat-pocket, or a watch to take out of it, and burning with curiosity, she ran across the \
field after it, and fortunately was just in time to see it pop down a large rabbit-hole under the hedge.
In another moment down went Alice after it, never once considering how in the world she was to get out \
again.
The rabbit-hole went straight on like a tunnel for some way, and then dipped suddenly down, so suddenly \
that Alice had not a moment to think about stopping herself before she found herself falling down a very \
deep well.
"""


class CharLM(nn.Module):
    def __init__(self, vocab, emb=32, hidden=128, layers=2):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=layers, batch_first=True, dropout=0.1)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens, state=None):
        out, state = self.lstm(self.emb(tokens), state)
        return self.head(out), state


def sample(model, stoi, itos, prompt, n=300, temperature=0.6, seed=0):
    rng = np.random.default_rng(seed)
    model.eval()
    out = list(prompt)
    with torch.no_grad():
        logits, state = model(torch.tensor([[stoi[c] for c in prompt]]))
        for _ in range(n):
            p = F.softmax(logits[0, -1] / temperature, dim=0).numpy().astype(np.float64)
            idx = int(rng.choice(len(p), p=p / p.sum()))
            out.append(itos[idx])
            logits, state = model(torch.tensor([[idx]]), state)
    model.train()
    return "".join(out)


def main(steps=600, seq=64, batch=32):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    chars = sorted(set(TEXT))
    stoi = {c: i for i, c in enumerate(chars)}
    itos = dict(enumerate(chars))
    data = np.array([stoi[c] for c in TEXT], dtype=np.int64)
    model = CharLM(len(chars))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    start = time.time()
    for step in range(steps):
        starts = rng.integers(0, len(data) - seq - 1, size=batch)
        window = np.stack([data[s:s + seq + 1] for s in starts])
        x, y = torch.from_numpy(window[:, :-1]), torch.from_numpy(window[:, 1:])
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {loss.item():.3f}  ({time.time() - start:.0f}s)")
    text = sample(model, stoi, itos, "Alice ")
    print("\nsample:\n" + text)
    return loss.item(), text


if __name__ == "__main__":
    main()
