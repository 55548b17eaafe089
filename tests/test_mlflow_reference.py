"""MLflow references against a real tracking server (issue 16 item 5).

Once per session, started in the background when the session starts (tests/prestart.py):
`mlflow server` (SQLite backend, proxied artifacts, own virtualenv; see mlflow_support.py),
and the real MLflow client logs two versions of model `churn` (each run: its training set as
the `training` dataset via mlflow.log_input, plus artifacts), registers them and points
`champion` at version 1. Then, through our REST reader:

- `models:/churn@champion` materialises as a new reference version with the resolved model
  version, run id and dataset digest recorded (CLI, API), with the same specs as the same file
  read as a path reference;
- `models:/churn/2` + `artifact: data/train.csv` reads that artifact (digest = sha256 of its
  bytes);
- unknown alias / version / artifact / dataset and a missing server: one line naming the key;
- the watcher: the alias moved to version 2 deploys once, with three replicas polling at the
  same moment, and a later poll does nothing.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import httpx
import prestart
import pytest
import yaml
from fastapi.testclient import TestClient
from mlflow_support import Running, start, train

from monitor.app import create_app
from monitor.cli import main
from monitor.deployments import effective_monitor
from monitor.errors import MlflowReferenceError
from monitor.mlflow_watch import watch_once
from monitor.reference import latest, materialise, versions
from monitor.settings import parse_settings
from monitor.storage import make_engine
from monitor.storage.deployments import list_deployments

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]  # a loaded machine: slow server start
READ = "read-" + "r" * 20


def _serve_and_train(tmp: Path) -> tuple[Running, dict[str, Any]]:
    """Started in the background at session start (tests/prestart.py): the server, then the
    real MLflow client logging and registering two versions."""
    running = start(tmp, spawned=prestart.track)
    try:
        logged = train(running.url, tmp, "train", "--versions", "2")
    except BaseException:
        running.stop()
        raise
    return running, {"url": running.url, "logged": logged, "tmp": tmp}


prestart.register("mlflow", _serve_and_train, stop=lambda started: started[0].stop())


@pytest.fixture(scope="module")
def mlflow(tmp_path_factory) -> Any:
    """Waits for the server and the training started at session start; a failed start fails
    these tests with its error."""
    try:
        yield prestart.result("mlflow", tmp_path_factory)[1]
    finally:
        prestart.release("mlflow")


def _config(url: str, tracking: str, tmp: Path, **extra: Any) -> dict[str, Any]:
    monitors = [
        {"name": "churn-prod", "model": "churn", "model_version": "1",
         "reference": {"mlflow": "models:/churn@champion"}},
        {"name": "churn-file", "model": "churn-file", "reference": str(tmp / "train-1.parquet")},
        {"name": "churn-csv", "model": "churn-csv",
         "reference": {"mlflow": "models:/churn/2", "artifact": "data/train.csv"}},
        {"name": "bad-alias", "model": "x1", "reference": "models:/churn@nope"},
        {"name": "bad-version", "model": "x2", "reference": "models:/churn/99"},
        {"name": "bad-artifact", "model": "x3",
         "reference": {"mlflow": "models:/churn/1", "artifact": "data/none.parquet"}},
        {"name": "bad-dataset", "model": "x4",
         "reference": {"mlflow": "models:/churn/1", "dataset": "holdout"}},
    ]  # fmt: skip
    return {
        "database": {"url": url},
        "mlflow": {"tracking_uri": tracking, **extra},
        "monitors": monitors,
        "api": {"read_tokens": [READ]},
    }


def _specs(ref: Any) -> dict[str, Any]:
    return {name: spec.to_dict() for name, spec in ref.specs.items()}


def test_alias_reference_is_materialised_with_its_lineage(mlflow, migrated_pg, tmp_path) -> None:
    url = migrated_pg("mlflow_ref")
    settings = parse_settings(_config(url, mlflow["url"], mlflow["tmp"]))
    engine = make_engine(url)
    v1, v2 = mlflow["logged"]
    ref = materialise(engine, settings.monitor("churn-prod"))
    assert ref.version == 1 and ref.row_count == 2000
    assert ref.source == (
        f"mlflow:models:/churn@champion (version 1, run {v1['run_id']}, dataset churn-train, "
        f"digest {v1['digest']})"
    )
    [row] = versions(engine, "churn-prod")
    assert row["mlflow"] == {
        "model_uri": "models:/churn@champion",
        "registered_model": "churn",
        "alias": "champion",
        "model_version": "1",
        "run_id": v1["run_id"],
        "dataset_name": "churn-train",
        "dataset_digest": v1["digest"],
        "artifact_path": None,
        "data_uri": v1["parquet"],
    }
    # the same rows as the logged file read directly: same bins, categories and metrics
    direct = materialise(engine, settings.monitor("churn-file"))
    assert _specs(ref) == _specs(direct) and ref.performance == direct.performance
    assert versions(engine, "churn-file")[0]["mlflow"] is None

    csv = materialise(engine, settings.monitor("churn-csv"))  # a named artifact of version 2
    lineage = versions(engine, "churn-csv")[0]["mlflow"]
    sha = hashlib.sha256(Path(v2["csv"]).read_bytes()).hexdigest()
    assert (lineage["model_version"], lineage["run_id"]) == ("2", v2["run_id"])
    assert lineage["dataset_digest"] == f"sha256:{sha}" and lineage["dataset_name"] is None
    assert lineage["artifact_path"] == "data/train.csv" and csv.row_count == 2000
    assert _specs(csv)["age"] != _specs(ref)["age"]  # version 2's ages are shifted
    assert sorted(_specs(csv)["plan"]["categories"]) == ["basic", "pro", "team"]

    with TestClient(create_app(engine, settings)) as client:
        got = client.get(
            "/api/v1/monitors/churn-prod/references", headers={"Authorization": f"Bearer {READ}"}
        )
    assert got.status_code == 200, got.text
    assert got.json()["items"][0]["mlflow"]["run_id"] == v1["run_id"]
    engine.dispose()


def test_errors_name_the_key(mlflow, migrated_pg, tmp_path, capsys) -> None:
    url = migrated_pg("mlflow_err")
    settings = parse_settings(_config(url, mlflow["url"], mlflow["tmp"]))
    engine = make_engine(url)
    v1 = mlflow["logged"][0]
    cases = {
        "bad-alias": "reference.mlflow models:/churn@nope: MLflow /registered-models/alias "
        "answered 400 INVALID_PARAMETER_VALUE: Registered model alias nope not found.",
        "bad-version": "reference.mlflow models:/churn/99: MLflow /model-versions/get answered 40",
        "bad-artifact": f"run {v1['run_id']} has no artifact 'data/none.parquet' "
        "(files there: data/train-1.parquet, data/train.csv)",
        "bad-dataset": f"run {v1['run_id']} has no dataset 'holdout' (logged: churn-train)",
    }
    for name, message in cases.items():
        with pytest.raises(MlflowReferenceError) as err:
            materialise(engine, settings.monitor(name))
        assert str(err.value).startswith(f"monitor {name}: reference.mlflow"), err.value
        assert message in str(err.value), err.value
        assert versions(engine, name) == []

    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(_config(url, mlflow["url"], mlflow["tmp"])))
    code = main(["reference", "refresh", "--monitor", "bad-alias", "--config", str(config)])
    out, err = capsys.readouterr()
    assert code != 0 and out == "" and err.count("\n") == 1, err
    assert "monitor bad-alias: reference.mlflow models:/churn@nope" in err

    nowhere = parse_settings(_config(url, "http://127.0.0.1:9", mlflow["tmp"]))
    with pytest.raises(MlflowReferenceError, match=r"MLflow at http://127\.0\.0\.1:9 unreachable"):
        materialise(engine, nowhere.monitor("churn-prod"))
    engine.dispose()


def test_alias_move_deploys_once(mlflow, migrated_pg) -> None:
    url = migrated_pg("mlflow_watch")
    settings = parse_settings(_config(url, mlflow["url"], mlflow["tmp"], watch_alias=True))
    engine = make_engine(url)
    v1, v2 = mlflow["logged"]
    materialise(engine, settings.monitor("churn-prod"))
    assert watch_once(engine, settings) == []  # first sight, the reference's own version
    assert list_deployments(engine, "churn") == []

    moved = httpx.post(
        f"{mlflow['url']}/api/2.0/mlflow/registered-models/alias",
        json={"name": "churn", "alias": "champion", "version": "2"},
    )
    assert moved.status_code == 200, moved.text
    try:
        outcomes: list[Any] = []
        barrier = threading.Barrier(3)

        def replica() -> None:
            own = make_engine(url)
            barrier.wait()
            outcomes.extend(watch_once(own, settings))
            own.dispose()

        threads = [threading.Thread(target=replica) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        [dep] = list_deployments(engine, "churn")
        assert (dep.version, dep.reference) == ("2", "models:/churn/2")
        assert [o.created for o in outcomes] == [True]  # the others found it acted on
        assert effective_monitor(engine, settings.monitor("churn-prod")).model_version == "2"
        ref = latest(engine, "churn-prod")
        assert (
            ref is not None
            and ref.version == 2
            and ref.source.startswith(f"mlflow:models:/churn/2 (version 2, run {v2['run_id']}")
        )
        assert versions(engine, "churn-prod")[0]["mlflow"]["dataset_digest"] == v2["digest"]
        assert watch_once(engine, settings) == []  # nothing moved since
        assert len(list_deployments(engine, "churn")) == 1
    finally:  # the alias back where the other tests expect it
        httpx.post(
            f"{mlflow['url']}/api/2.0/mlflow/registered-models/alias",
            json={"name": "churn", "alias": "champion", "version": v1["version"]},
        )
    engine.dispose()
