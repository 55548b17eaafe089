"""Run by the MLflow virtualenv's python (tests/mlflow_support.py), not by the project's.

`train --versions N`: N times, write a training set (Parquet; version k's `age` shifted by
10 * (k - 1)), log it in a run as the training dataset (`mlflow.log_input`, source: the file)
and as artifacts (`data/train-<k>.parquet`, `data/train.csv`), log a pyfunc model and register
it as a new version of NAME; ALIAS points at the first. `alias`: point ALIAS at VERSION.
Prints one JSON line per version: run id, version, dataset digest, files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient


class Constant(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return np.zeros(len(model_input))


def train(args: argparse.Namespace, k: int) -> dict[str, object]:
    rng = np.random.default_rng(k)
    n = args.rows
    df = pd.DataFrame(
        {
            "age": rng.normal(40 + 10 * (k - 1), 10, n).round(1),
            "plan": rng.choice(["basic", "pro", "team"], n),
            "prediction": rng.uniform(0, 1, n).round(4),
            "label": rng.integers(0, 2, n),
        }
    )
    path = Path(args.data) / f"train-{k}.parquet"
    df.to_parquet(path, index=False)
    (Path(args.data) / f"csv-{k}").mkdir(exist_ok=True)
    csv = Path(args.data) / f"csv-{k}" / "train.csv"
    df.to_csv(csv, index=False)
    dataset = mlflow.data.from_pandas(df, source=str(path), name="churn-train")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
        mlflow.log_artifact(str(path), "data")
        mlflow.log_artifact(str(csv), "data")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=Constant(),
            registered_model_name=args.name,
            pip_requirements=["mlflow"],  # no inference (it would load the model in a subprocess)
        )
    version = str(info.registered_model_version)
    if args.alias and k == 1:
        MlflowClient().set_registered_model_alias(args.name, args.alias, version)
    return {"run_id": run.info.run_id, "version": version, "digest": dataset.digest,
            "parquet": str(path), "csv": str(csv)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["train", "alias"])
    parser.add_argument("--name", default="churn")
    parser.add_argument("--alias", default="champion")
    parser.add_argument("--version")
    parser.add_argument("--data", default=".")
    parser.add_argument("--versions", type=int, default=1)
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    if args.command == "train":
        for k in range(1, args.versions + 1):
            sys.stdout.write(json.dumps(train(args, k)) + "\n")
    else:
        MlflowClient().set_registered_model_alias(args.name, args.alias, args.version)
        sys.stdout.write(json.dumps({"version": args.version}) + "\n")


if __name__ == "__main__":
    main()
