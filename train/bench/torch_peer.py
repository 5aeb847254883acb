# PyTorch peer for `npm run bench:train`: the same Transformer as ours (pre- or post-norm, ReLU/GELU FFN,
# E encoder and D decoder layers, tied embeddings, label smoothing 0.1, Adam 0.9/0.98/1e-9) on the same
# batch shape. It builds the model once, then answers each stdin line "N" with N timed steps (seconds, one
# JSON list per line), so the benchmark can interleave its rounds with ours in one run.
import json, os, sys, time
import torch
import torch.nn as nn

cfg = json.loads(sys.argv[1])
torch.manual_seed(0)
torch.set_num_threads(cfg["threads"])
V, C, F, H = cfg["vocab"], cfg["dModel"], cfg["dFF"], cfg["heads"]
E, D, B, S, T = cfg["encoderLayers"], cfg["decoderLayers"], cfg["batch"], cfg["srcLen"], cfg["tgtLen"]


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, C)
        self.tf = nn.Transformer(C, H, E, D, F, dropout=0.1, activation=cfg["activation"], batch_first=True, norm_first=cfg["preNorm"])
        pe = torch.zeros(512, C)
        pos = torch.arange(512).unsqueeze(1)
        div = torch.exp(torch.arange(0, C, 2) * (-torch.log(torch.tensor(10000.0)) / C))
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe)

    def forward(self, src, tgt):
        s = self.emb(src) * C**0.5 + self.pe[: src.size(1)]
        t = self.emb(tgt) * C**0.5 + self.pe[: tgt.size(1)]
        mask = self.tf.generate_square_subsequent_mask(tgt.size(1))
        y = self.tf(s, t, tgt_mask=mask)
        return y @ self.emb.weight.t()


model = Model()
opt = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-9)
loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
src = torch.randint(4, V, (B, S))
tgt = torch.randint(4, V, (B, T + 1))


def step():
    opt.zero_grad()
    logits = model(src, tgt[:, :-1])
    loss = loss_fn(logits.reshape(-1, V), tgt[:, 1:].reshape(-1))
    loss.backward()
    opt.step()


# Debian's torch calls the system BLAS: the reference one makes a step ~15x slower (a meaningless peer).
blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
print(json.dumps({"ready": True, "torch": torch.__version__, "blas": blas}), flush=True)
for line in sys.stdin:
    times = []
    for _ in range(int(line)):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    print(json.dumps(times), flush=True)
