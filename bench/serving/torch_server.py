"""The benchmark's peer: the same detector in PyTorch eager mode behind a plain HTTP server, the
way users serve a model with Flask/TorchServe-style handlers.

    .venv/bin/python bench/serving/torch_server.py PORT

Builds the built-in algorithm's SSDlite MobileNetV3 (1 class, 320 px, seed 0 -- the same network the
bench's model.tar.gz was exported from), decodes with PIL, resizes like training, runs
``model([tensor])`` under ``torch.no_grad()`` with all cores (one inference at a time, as a
TorchServe worker does), answers SageMaker's ``{"prediction": [...]}``.
"""

import io
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import torch
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "algorithms", "object-detection"))
from apiary_od.models import build_model

torch.set_num_threads(os.cpu_count() or 1)
torch.manual_seed(0)
SIZE = 320
MODEL = build_model("mobilenet-v3", 1, SIZE, False).eval()
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        img = Image.open(io.BytesIO(body)).convert("RGB")
        x = torch.from_numpy(np.asarray(img.resize((SIZE, SIZE), Image.BILINEAR), dtype=np.float32) / 255.0).permute(2, 0, 1)
        with LOCK, torch.no_grad():
            out = MODEL([x])[0]
        pred = [
            [float(label) - 1, float(s), float(b[0]) / SIZE, float(b[1]) / SIZE, float(b[2]) / SIZE, float(b[3]) / SIZE]
            for b, s, label in zip(out["boxes"].tolist(), out["scores"].tolist(), out["labels"].tolist())
        ]
        data = json.dumps({"prediction": pred}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 256  # the default backlog of 5 resets connections at c=32
    ThreadingHTTPServer.handle_error = lambda self, request, client_address: None
    srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    srv.serve_forever()
