"""Read a `ttv-report export` back with the trackers' own code and print it as JSON.

    python3 read_trackers.py tensorboard DIR   # TensorBoard's event readers, one entry per run folder
    python3 read_trackers.py mlflow DIR        # MlflowClient on file://DIR

Used by tests/report/trackers.rs, which compares what is printed with the run store.
"""

import hashlib
import json
import math
import os
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")


def num(v):
    """A float for JSON, which has no NaN or infinity: those become null."""
    return v if math.isfinite(v) else None


def tensorboard(root):
    from tensorboard.backend.event_processing import event_accumulator as ea
    from tensorboard.backend.event_processing import plugin_event_accumulator as pea
    from tensorboard.plugins.hparams import metadata
    from tensorboard.util import tensor_util

    out = {}
    for folder, _, files in sorted(os.walk(root)):
        events = [f for f in files if "tfevents" in f]
        if not events:
            continue
        # The reader of scalars and images as logged...
        acc = ea.EventAccumulator(folder, size_guidance={ea.SCALARS: 0, ea.IMAGES: 0, ea.TENSORS: 0})
        acc.Reload()
        tags = acc.Tags()
        scalars = {t: [[e.step, num(e.value)] for e in acc.Scalars(t)] for t in tags["scalars"]}
        images = {
            t: [[e.step, e.width, e.height, hashlib.sha256(e.encoded_image_string).hexdigest()] for e in acc.Images(t)]
            for t in tags["images"]
        }
        # ...and the one TensorBoard's dashboards read (plugins: text, hparams).
        plugins = pea.EventAccumulator(folder, size_guidance={pea.TENSORS: 0})
        plugins.Reload()
        text = {
            t: tensor_util.make_ndarray(plugins.Tensors(t)[0].tensor_proto).item().decode()
            for t in plugins.PluginTagToContent("text")
        }
        hp = plugins.PluginTagToContent("hparams")
        start = metadata.parse_session_start_info_plugin_data(hp[metadata.SESSION_START_INFO_TAG])
        end = metadata.parse_session_end_info_plugin_data(hp[metadata.SESSION_END_INFO_TAG])
        hparams = {}
        for name, v in start.hparams.items():
            kind = v.WhichOneof("kind")
            hparams[name] = getattr(v, kind)
        out[os.path.relpath(folder, root)] = {
            "files": events,
            "scalars": scalars,
            "images": images,
            "text": text,
            "hparams": hparams,
            "group": start.group_name,
            "status": end.status,
        }
    return out


def mlflow_store(root):
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(tracking_uri="file://" + os.path.abspath(root))
    experiments = client.search_experiments(view_type=ViewType.ALL)
    runs = []
    for r in client.search_runs([e.experiment_id for e in experiments], max_results=1000):
        rid = r.info.run_id
        metrics = {
            k: [[m.step, num(m.value), m.timestamp] for m in client.get_metric_history(rid, k)] for k in r.data.metrics
        }
        artifacts = {}

        def walk(path):
            for f in client.list_artifacts(rid, path):
                if f.is_dir:
                    walk(f.path)
                else:
                    artifacts[f.path] = None

        walk(None)
        with tempfile.TemporaryDirectory() as tmp:
            for path in artifacts:
                local = client.download_artifacts(rid, path, tmp)
                with open(local, "rb") as f:
                    artifacts[path] = hashlib.sha256(f.read()).hexdigest()
        runs.append(
            {
                "run_id": rid,
                "experiment_id": r.info.experiment_id,
                "name": r.info.run_name,
                "status": r.info.status,
                "start_time": r.info.start_time,
                "end_time": r.info.end_time,
                "params": r.data.params,
                "tags": r.data.tags,
                "metrics": metrics,
                "artifacts": artifacts,
            }
        )
    return {
        "experiments": [{"id": e.experiment_id, "name": e.name, "tags": e.tags} for e in experiments],
        "runs": runs,
    }


if __name__ == "__main__":
    kind, root = sys.argv[1], sys.argv[2]
    data = tensorboard(root) if kind == "tensorboard" else mlflow_store(root)
    json.dump(data, sys.stdout)
