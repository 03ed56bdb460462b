"""Apiary's stand-in for SageMaker's PyTorch inference image: serves a user's ``inference.py``.

Started by the hosting runtime once per endpoint instance with the local torch (``.venv``):
``SAGEMAKER_BIND_TO_PORT`` is the port, the model directory is ``/opt/ml/model`` (under bubblewrap)
or ``SM_MODEL_DIR``. The user's script is ``$SAGEMAKER_PROGRAM`` (default ``inference.py``) in
``<model dir>/code`` (the layout the SageMaker Python SDK's ``PyTorchModel`` packs); it may define
``model_fn(model_dir)``, ``input_fn(body, content_type)``, ``predict_fn(data, model)``,
``output_fn(prediction, accept)`` -> ``(body, content_type)`` or body. Missing handlers fall back to
the toolkit's defaults (JSON / NPY in, JSON out, ``model(data)`` under ``torch.no_grad()``).

GET /ping answers 200 once ``model_fn`` has returned; POST /invocations runs the handlers. A
handler's exception becomes a 500 with its message (the platform turns it into ModelError), a
``ValueError`` from ``input_fn`` a 415-style 400.
"""

import importlib.util
import io
import json
import os
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch

MODEL_DIR = os.environ.get("SM_MODEL_DIR") or "/opt/ml/model"
PORT = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
torch.set_num_threads(max(1, int(os.environ.get("APIARY_TORCH_THREADS", "0")) or os.cpu_count() or 1))


def load_user_module():
    program = os.environ.get("SAGEMAKER_PROGRAM", "inference.py")
    for base in (os.path.join(MODEL_DIR, "code"), os.environ.get("SAGEMAKER_SUBMIT_DIRECTORY", ""), MODEL_DIR):
        path = os.path.join(base, program) if base else ""
        if path and os.path.isfile(path):
            sys.path.insert(0, os.path.dirname(path))
            spec = importlib.util.spec_from_file_location("inference", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    return None


def default_model_fn(model_dir):
    for name in ("model.pt", "model.pth"):
        path = os.path.join(model_dir, name)
        if os.path.isfile(path):
            try:
                return torch.jit.load(path, map_location="cpu").eval()
            except Exception as e:  # torch.jit.load fails in many ways on a file that is not TorchScript: re-raised
                raise RuntimeError(f"{name} is not a TorchScript model; provide model_fn in code/inference.py") from e
    raise RuntimeError("no model_fn in code/inference.py and no TorchScript model.pt/model.pth in the model directory")


def default_input_fn(body, content_type):
    if content_type in ("application/json", None, ""):
        return torch.tensor(json.loads(body))
    if content_type == "application/x-npy":
        import numpy as np

        return torch.from_numpy(np.load(io.BytesIO(body), allow_pickle=False))
    raise ValueError(f"content type {content_type} is not supported; send application/json or application/x-npy")


def default_predict_fn(data, model):
    with torch.no_grad():
        return model(data)


def default_output_fn(prediction, accept):
    if isinstance(prediction, torch.Tensor):
        prediction = prediction.tolist()
    return json.dumps(prediction), "application/json"


user = load_user_module()
model_fn = getattr(user, "model_fn", default_model_fn)
input_fn = getattr(user, "input_fn", default_input_fn)
predict_fn = getattr(user, "predict_fn", default_predict_fn)
output_fn = getattr(user, "output_fn", default_output_fn)
MODEL = model_fn(MODEL_DIR)
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep stdout for the user's own prints
        pass

    def send(self, status, body, content_type="application/json", headers=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/ping":
            self.send(200, b"")
        else:
            self.send(404, json.dumps({"message": "not found"}))

    def do_POST(self):
        if self.path != "/invocations":
            return self.send(404, json.dumps({"message": "not found"}))
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        accept = self.headers.get("Accept") or "application/json"
        try:
            data = input_fn(body, ctype)
        except ValueError as e:
            return self.send(400, json.dumps({"message": str(e)}))
        try:
            with LOCK:
                prediction = predict_fn(data, MODEL)
            out = output_fn(prediction, accept)
            resp, rtype = out if isinstance(out, tuple) else (out, accept)
            custom = self.headers.get("X-Amzn-SageMaker-Custom-Attributes")
            self.send(200, resp, rtype, {"X-Amzn-SageMaker-Custom-Attributes": custom} if custom else None)
        except Exception as e:  # noqa: BLE001 - reported to the client as ModelError
            traceback.print_exc()
            self.send(500, json.dumps({"message": f"{type(e).__name__}: {e}"}))


if __name__ == "__main__":
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
