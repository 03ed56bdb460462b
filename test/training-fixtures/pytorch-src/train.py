"""A user's PyTorch script in SageMaker script mode: hyperparameters arrive as --key value."""

import argparse
import json
import os
import sys

import torch

p = argparse.ArgumentParser()
p.add_argument("--epochs", type=int, default=1)
p.add_argument("--lr", type=float, default=0.1)
p.add_argument("--note", type=str, default="")
p.add_argument("--model-dir", type=str, default=os.environ["SM_MODEL_DIR"])
p.add_argument("--train", type=str, default=os.environ["SM_CHANNEL_TRAINING"])
args = p.parse_args()
print("argv " + json.dumps(sys.argv[1:]), flush=True)
print("note " + args.note, flush=True)
print("hps " + os.environ["SM_HPS"], flush=True)

xs, ys = [], []
for fn in sorted(os.listdir(args.train)):
    with open(os.path.join(args.train, fn)) as f:
        for line in f:
            x, y = map(float, line.split(","))
            xs.append([x])
            ys.append([y])
x, y = torch.tensor(xs), torch.tensor(ys)
model = torch.nn.Linear(1, 1)
opt = torch.optim.SGD(model.parameters(), lr=args.lr)
for epoch in range(args.epochs):
    for _ in range(50):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    print(f"epoch={epoch} train_loss={loss.item():.6f}", flush=True)
torch.save(model.state_dict(), os.path.join(args.model_dir, "model.pth"))
print("saved", flush=True)
