"""A small training 'algorithm' for Apiary's training tests; hyperparameter `mode` picks what it does."""

import json
import os
import signal
import struct
import sys
import time

model_dir = os.environ["SM_MODEL_DIR"]
root = os.path.dirname(model_dir)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def write_text(path, text):
    with open(path, "w") as f:
        f.write(text)


hps = read_json(os.path.join(root, "input", "config", "hyperparameters.json"))
channels = read_json(os.path.join(root, "input", "config", "inputdataconfig.json"))
mode = hps.get("mode", "ok")
data = os.path.join(root, "input", "data")
print(f"mode={mode} job={os.environ.get('TRAINING_JOB_NAME')} marker={hps.get('marker', '')}", flush=True)


def read_records(path):
    out = []
    with open(path, "rb") as f:
        buf = f.read()
    off = 0
    while off + 8 <= len(buf):
        magic, lrec = struct.unpack_from("<II", buf, off)
        assert magic == 0xCED7230A, hex(magic)
        n = lrec & ((1 << 29) - 1)
        out.append(buf[off + 8 : off + 8 + n])
        off += 8 + n + (4 - n % 4) % 4
    return out


if mode == "ok":
    print("hyperparameters " + json.dumps(hps, sort_keys=True), flush=True)
    print("channels " + json.dumps(channels, sort_keys=True), flush=True)
    for ch in sorted(channels):
        for r, _d, files in sorted(os.walk(os.path.join(data, ch))):
            for fn in sorted(files):
                p = os.path.join(r, fn)
                print(f"file {ch}/{os.path.relpath(p, os.path.join(data, ch))} {os.path.getsize(p)}", flush=True)
    print("env SM_CHANNEL_TRAIN=" + os.environ.get("SM_CHANNEL_TRAIN", ""), flush=True)
    for epoch in range(3):
        print(f"epoch={epoch} loss={1.0 / (epoch + 1):.4f} accuracy={0.5 + epoch * 0.1:.2f}", flush=True)
    with open(os.path.join(model_dir, "model.txt"), "w") as f:
        f.write("weights")
    os.makedirs(os.path.join(model_dir, "sub"), exist_ok=True)
    with open(os.path.join(model_dir, "sub", "meta.json"), "w") as f:
        json.dump({"ok": True}, f)
    with open(os.path.join(root, "output", "data", "predictions.txt"), "w") as f:
        f.write("preds")
    sys.exit(0)

if mode == "peek":
    for p in hps["paths"].split(","):
        print(f"peek {p} exists={os.path.exists(p)}", flush=True)
    sys.exit(0)

if mode == "random-model":
    # Incompressible weights of `size` bytes (the full-disk test sizes them to the free space).
    with open(os.path.join(model_dir, "weights.bin"), "wb") as f:
        f.write(os.urandom(int(hps["size"])))
    print("model written", flush=True)
    sys.exit(0)

if mode == "big-model":
    with open(os.path.join(model_dir, "weights.bin"), "wb") as f:
        f.write(b"w" * 5000)
    sys.exit(0)

if mode == "fail-file":
    with open(os.path.join(root, "output", "failure"), "w") as f:
        f.write("ClientError: the label attribute 'bees' is missing on line 3")
    sys.exit(2)

if mode == "exit3":
    print("about to fail", flush=True)
    print("last words", flush=True)
    sys.exit(3)

if mode == "sleep":

    def on_term(*_):
        print("got SIGTERM: saving", flush=True)
        with open(os.path.join(model_dir, "stopped.txt"), "w") as f:
            f.write("partial")
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
    print("sleeping", flush=True)
    for _ in range(600):
        time.sleep(0.1)
    sys.exit(0)

if mode == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("sleeping and ignoring SIGTERM", flush=True)
    time.sleep(60)
    sys.exit(0)

if mode == "pipe":
    for ch in sorted(channels):
        for epoch in range(2):
            path = os.path.join(data, f"{ch}_{epoch}")
            deadline = time.time() + 10
            while not os.path.exists(path) and time.time() < deadline:
                time.sleep(0.02)
            if channels[ch].get("RecordWrapperType") != "RecordIO":
                with open(path, "rb") as f:
                    raw = f.read()
                print(f"pipe {ch}_{epoch} raw={raw.decode()!r}", flush=True)
                continue
            recs = read_records(path)
            print(f"pipe {ch}_{epoch} records={len(recs)} sizes={[len(r) for r in recs]}", flush=True)
            texts = [r.decode() for r in recs if r[:1] == b"{"]
            print(f"pipe {ch}_{epoch} json={texts}", flush=True)
    with open(os.path.join(model_dir, "model.txt"), "w") as f:
        f.write("piped")
    sys.exit(0)

if mode == "pipe-epochs":
    # Reads its first channel's pipe epoch after epoch, pausing between them.
    ch = sorted(channels)[0]
    for epoch in range(int(hps.get("epochs", "3"))):
        path = os.path.join(data, f"{ch}_{epoch}")
        while not os.path.exists(path):
            time.sleep(0.02)
        with open(path, "rb") as f:
            raw = f.read()
        print(f"pipe epoch {epoch} bytes={len(raw)}", flush=True)
        time.sleep(float(hps.get("pause", "0.5")))
    with open(os.path.join(model_dir, "model.txt"), "w") as f:
        f.write("piped")
    sys.exit(0)

if mode == "flood":
    line = "x" * 1000
    for _ in range(10000):
        print(line, flush=True)
    sys.exit(0)

if mode == "checkpoint":
    ck = hps.get("ckpt_dir", "/opt/ml/checkpoints")
    ck = os.path.join(root, os.path.relpath(ck, "/opt/ml"))
    existing = sorted(os.listdir(ck)) if os.path.isdir(ck) else []
    print("checkpoints " + json.dumps(existing), flush=True)
    n = len(existing)
    with open(os.path.join(ck, f"ckpt-{n}.txt"), "w") as f:
        f.write(str(n))
    write_text(os.path.join(model_dir, "model.txt"), str(n))
    sys.exit(0)

if mode == "slow-steps":
    # Runs `steps` steps of 0.3 s, checkpointing each; resumes from the newest checkpoint.
    ck = os.path.join(root, "checkpoints")
    os.makedirs(ck, exist_ok=True)
    done = max([int(f.split("-")[1].split(".")[0]) for f in os.listdir(ck) if f.startswith("step-")] + [0])
    print(f"resuming after step {done}", flush=True)
    for s in range(done + 1, int(hps.get("steps", "10")) + 1):
        time.sleep(0.3)
        write_text(os.path.join(ck, f"step-{s}.txt"), str(s))
        print(f"step {s}", flush=True)
    write_text(os.path.join(model_dir, "model.txt"), "done")
    sys.exit(0)

print(f"unknown mode {mode}", flush=True)
sys.exit(1)
