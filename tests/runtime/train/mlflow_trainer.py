"""A command trainer that reports through MLflow's tracking REST API with nothing but urllib, as a
script using the mlflow client would (experiment by name, create run, log params and metrics per
epoch, a batch, a tag, read the run back, finish it), and through the JSON-lines metrics file."""
import json
import os
import sys
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.environ["FIXTURES"])
from mlops_fixture import contract, fit, load_csv, write_onnx  # noqa: E402

API = os.environ["MLFLOW_TRACKING_URI"].rstrip("/") + "/api/2.0/mlflow/"
print("tracking uri:", os.environ["MLFLOW_TRACKING_URI"], flush=True)


def call(method, endpoint, body=None, query=""):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(API + endpoint + query, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def now_ms():
    return int(time.time() * 1000)


status, missing = call("GET", "experiments/get-by-name", query="?experiment_name=fraud-exp")
assert status == 404 and missing["error_code"] == "RESOURCE_DOES_NOT_EXIST", (status, missing)
status, created = call("POST", "experiments/create", {"name": "fraud-exp"})
assert status == 200, created
exp_id = created["experiment_id"]
status, run = call("POST", "runs/create", {"experiment_id": exp_id, "start_time": now_ms(), "run_name": "urllib", "tags": [{"key": "team", "value": "risk"}]})
assert status == 200 and run["run"]["info"]["status"] == "RUNNING", run
run_id = run["run"]["info"]["run_id"]

c = contract()
epochs = int(os.environ.get("MLOPS_PARAM_EPOCHS", "60"))
call("POST", "runs/log-parameter", {"run_id": run_id, "key": "optimizer", "value": "gd"})
status, conflict = call("POST", "runs/log-parameter", {"run_id": run_id, "key": "optimizer", "value": "adam"})
print("param conflict:", status, conflict["error_code"], flush=True)

X, y = load_csv(os.path.join(c["data_dir"], "train.csv"), c["label"], c["features"])


def on_epoch(epoch, loss):
    if epoch % 10 == 0:
        s, body = call("POST", "runs/log-metric", {"run_id": run_id, "key": "train_loss", "value": loss, "timestamp": now_ms(), "step": epoch})
        assert s == 200 and body == {}, (s, body)


mean, scale, w, b, loss = fit(X, y, epochs=epochs, lr=0.5, on_epoch=on_epoch)
status, _ = call("POST", "runs/log-batch", {
    "run_id": run_id,
    "metrics": [{"key": "val_auc", "value": 0.81, "timestamp": now_ms(), "step": 1}, {"key": "val_auc", "value": 0.84, "timestamp": now_ms(), "step": 2}],
    "params": [{"key": "batch", "value": "full"}],
    "tags": [{"key": "stage", "value": "dev"}],
})
assert status == 200
call("POST", "runs/set-tag", {"run_id": run_id, "key": "mlflow.note.content", "value": "urllib trainer"})
status, got = call("GET", "runs/get", query="?run_id=" + run_id)
latest = {m["key"]: m for m in got["run"]["data"]["metrics"]}
assert latest["train_loss"]["step"] == epochs and latest["val_auc"]["value"] == 0.84, got
print("run params:", sorted(p["key"] for p in got["run"]["data"]["params"]), flush=True)

with open(os.environ["MLOPS_METRICS_FILE"], "a") as f:
    f.write(json.dumps({"metric": "file_metric", "value": 1.5, "step": 3}) + "\n")
    f.write(json.dumps({"param": "source", "value": "file"}) + "\n")
    f.write("not json at all\n")
    f.write(json.dumps({"metric": "file_metric", "value": "high"}) + "\n")

write_onnx(os.path.join(c["output"], "model.onnx"), mean, scale, w, b, producer="mlflow_trainer")
status, done = call("POST", "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": now_ms()})
assert status == 200 and done["run_info"]["status"] == "FINISHED", done
print("trainer done", flush=True)
