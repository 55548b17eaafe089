"""References read from MLflow (issue 16 item 5), over the tracking server's REST API.

`reference: {mlflow: "models:/churn@champion"}` (or `models:/churn/3`) names a registered
model version. Reading it takes these requests of MLflow's REST API (docs:
https://mlflow.org/docs/latest/api_reference/rest-api.html), with httpx rather than the
`mlflow` client (mlflow-skinny pulls in databricks-sdk, opentelemetry, protobuf and more, and
takes seconds to import; the four endpoints below are all we need):

- `GET /api/2.0/mlflow/registered-models/alias?name=&alias=` (an alias) or
  `GET /api/2.0/mlflow/model-versions/get?name=&version=` (a version): the model version and
  its `run_id`;
- `GET /api/2.0/mlflow/runs/get?run_id=`: the run's `info.artifact_uri` and its logged
  datasets (`inputs.dataset_inputs`: name, digest, source; `mlflow.log_input`);
- `GET /api/2.0/mlflow/artifacts/list?run_id=&path=`: whether a named artifact exists;
- `GET /api/2.0/mlflow-artifacts/artifacts/{path}`: an artifact's bytes through the server's
  artifact proxy (`mlflow server --artifacts-destination ...`; artifact URIs
  `mlflow-artifacts:/...`).

The rows are the run's logged training dataset (`dataset:` names one; default the one logged
with context `training`, or the only one) when its source is a file the monitor can read (a
local path, an http(s) URL, a run artifact), or the named artifact (`artifact:`), CSV or
Parquet. The tracking server is `reference.tracking_uri` (default `mlflow.tracking_uri`, else
MLFLOW_TRACKING_URI); credentials come from the environment (MLFLOW_TRACKING_TOKEN as a
bearer token, or MLFLOW_TRACKING_USERNAME + MLFLOW_TRACKING_PASSWORD), go to the tracking
server only and never into logs or messages.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import pandas as pd

from monitor.errors import InputError, MlflowReferenceError
from monitor.settings import ReferenceSettings, parse_model_uri
from monitor.storage.mlflow_refs import Lineage

TIMEOUT_S = 30.0
MAX_BYTES = 2 << 30  # a training file larger than 2 GiB is refused
API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    alias: str | None
    run_id: str


def safe_url(url: str) -> str:
    """The URL without user info, query or fragment (what messages may show)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _auth_headers() -> dict[str, str]:
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}
    user, password = (
        os.environ.get("MLFLOW_TRACKING_USERNAME"),
        os.environ.get("MLFLOW_TRACKING_PASSWORD"),
    )
    if user and password:
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}
    return {}


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return "".join(ch for ch in flat if ch.isprintable())[:limit]


class Tracking:
    """The tracking server's REST API; every failure raises MlflowReferenceError whose message
    starts with `where` (the monitor and its reference key)."""

    def __init__(self, uri: str | None, where: str, timeout_s: float = TIMEOUT_S) -> None:
        uri = uri or os.environ.get("MLFLOW_TRACKING_URI")
        if not uri or not uri.startswith(("http://", "https://")):
            raise MlflowReferenceError(
                f"{where}: no MLflow tracking server: set mlflow.tracking_uri (or "
                "reference.tracking_uri, or MLFLOW_TRACKING_URI) to its http(s) URL"
            )
        self.base, self.where = uri.rstrip("/"), where
        self._http = httpx.Client(timeout=timeout_s, headers=_auth_headers(), trust_env=False)

    def close(self) -> None:
        self._http.close()

    def fail(self, what: str) -> MlflowReferenceError:
        return MlflowReferenceError(f"{self.where}: {what}")

    def get(self, endpoint: str, **params: str) -> dict[str, Any]:
        """GET {API}{endpoint} with `params`: the JSON answer; an error names MLflow's code."""
        url = f"{self.base}{API}{endpoint}"
        try:
            resp = self._http.get(url, params=params)
        except httpx.HTTPError as exc:
            raise self.fail(
                f"MLflow at {safe_url(self.base)} unreachable: {type(exc).__name__}"
            ) from None
        if resp.status_code >= 400:
            raise self.fail(self._refusal(endpoint, resp))
        try:
            doc = resp.json()
        except ValueError:
            raise self.fail(f"MLflow answered {endpoint} with non-JSON") from None
        return doc if isinstance(doc, dict) else {}

    def _refusal(self, endpoint: str, resp: httpx.Response) -> str:
        try:
            body = resp.json()
            code, message = body.get("error_code", ""), body.get("message", "")
        except (ValueError, AttributeError):
            code, message = "", resp.text
        return f"MLflow {endpoint} answered {resp.status_code} {code}: {_one_line(message)}"

    def download(self, url: str, suffix: str, *, credentials: bool = True) -> _Download:
        """`url`'s bytes in a temporary file (a context manager: its path and sha256). Without
        `credentials` (a dataset on another host) the tracking server's are not sent."""
        return _Download(self, url, suffix, self._http if credentials else None)


class _Download:
    def __init__(self, tracking: Tracking, url: str, suffix: str, http: httpx.Client | None):
        self.tracking, self.url, self.suffix, self.http = tracking, url, suffix, http
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> tuple[Path, str]:
        self._tmp = tempfile.TemporaryDirectory(prefix="monitor-mlflow-")
        path = Path(self._tmp.name) / f"data{self.suffix}"
        http = self.http or httpx.Client(timeout=TIMEOUT_S, trust_env=False)
        try:
            return path, _stream(self.tracking, http, self.url, path)
        except BaseException:
            self._tmp.cleanup()
            raise
        finally:
            if self.http is None:
                http.close()

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def _stream(tracking: Tracking, http: httpx.Client, url: str, path: Path) -> str:
    """Stream `url` into `path`, at most MAX_BYTES; the sha256 hex of the bytes."""
    digest, size = hashlib.sha256(), 0
    try:
        with http.stream("GET", url) as resp, path.open("wb") as out:
            if resp.status_code >= 400:
                raise tracking.fail(f"download of {safe_url(url)} answered {resp.status_code}")
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise tracking.fail(f"{safe_url(url)} is larger than {MAX_BYTES} bytes")
                digest.update(chunk)
                out.write(chunk)
    except httpx.HTTPError as exc:
        raise tracking.fail(f"download of {safe_url(url)} failed: {type(exc).__name__}") from None
    return digest.hexdigest()


def resolve(tracking: Tracking, uri: str) -> ModelVersion:
    """The model version (with its run) a models:/ URI names; an alias is resolved now."""
    name, version, alias = parse_model_uri(uri)
    if alias is not None:
        doc = tracking.get("/registered-models/alias", name=name, alias=alias)
    else:
        doc = tracking.get("/model-versions/get", name=name, version=str(version))
    mv = doc.get("model_version") or {}
    run_id = mv.get("run_id")
    if not mv.get("version"):
        raise tracking.fail(f"MLflow returned no model version for {uri}")
    if not run_id:
        raise tracking.fail(
            f"{name} version {mv['version']} has no run: log the model in a run to read its data"
        )
    return ModelVersion(name, str(mv["version"]), alias, str(run_id))


def read_reference(monitor: str, ref: ReferenceSettings) -> tuple[pd.DataFrame, Lineage]:
    """The reference rows of an MLflow reference and where they came from."""
    assert ref.mlflow is not None
    tracking = Tracking(ref.tracking_uri, f"monitor {monitor}: reference.mlflow {ref.mlflow}")
    try:
        mv = resolve(tracking, ref.mlflow)
        run = tracking.get("/runs/get", run_id=mv.run_id).get("run") or {}
        artifact_root = str((run.get("info") or {}).get("artifact_uri") or "")
        digest: str | None
        if ref.artifact is not None:
            frame, digest, data_uri = _read_artifact(
                tracking, mv.run_id, artifact_root, ref.artifact
            )
            dataset_name = None
        else:
            dataset = _pick_dataset(tracking, run, ref.dataset, mv)
            dataset_name, digest = dataset.get("name"), dataset.get("digest")
            frame, data_uri = _read_dataset(tracking, artifact_root, dataset)
    finally:
        tracking.close()
    lineage = Lineage(
        model_uri=ref.mlflow,
        registered_model=mv.name,
        alias=mv.alias,
        model_version=mv.version,
        run_id=mv.run_id,
        dataset_name=dataset_name,
        dataset_digest=digest,
        artifact_path=ref.artifact,
        data_uri=data_uri,
    )
    return frame, lineage


def alias_version(tracking_uri: str | None, name: str, alias: str, where: str) -> str:
    """The version an alias points at now (the watcher's poll)."""
    tracking = Tracking(tracking_uri, where)
    try:
        return resolve(tracking, f"models:/{name}@{alias}").version
    finally:
        tracking.close()


def describe(lineage: Lineage) -> str:
    """The reference's source label: URI, version, run, dataset and digest."""
    data = (
        f"artifact {lineage.artifact_path}"
        if lineage.artifact_path
        else f"dataset {lineage.dataset_name}"
    )
    return (
        f"mlflow:{lineage.model_uri} (version {lineage.model_version}, run {lineage.run_id}, "
        f"{data}, digest {lineage.dataset_digest})"
    )


def _pick_dataset(
    tracking: Tracking, run: dict[str, Any], wanted: str | None, mv: ModelVersion
) -> dict[str, Any]:
    """The run's logged dataset to read: by name, else the training one, else the only one."""
    inputs = (run.get("inputs") or {}).get("dataset_inputs") or []
    found = [(i.get("dataset") or {}, _context(i)) for i in inputs]
    names = sorted({str(d.get("name")) for d, _ in found})
    if wanted is not None:
        chosen = [d for d, _ in found if d.get("name") == wanted]
        if chosen:
            return chosen[-1]
        shown = ", ".join(names) or "none"
        raise tracking.fail(f"run {mv.run_id} has no dataset {wanted!r} (logged: {shown})")
    if not found:
        raise tracking.fail(
            f"run {mv.run_id} (version {mv.version}) logged no dataset (mlflow.log_input); "
            "name a file with reference.artifact"
        )
    chosen = [d for d, ctx in found if ctx == "training"] or [d for d, _ in found]
    if len({d.get("name") for d in chosen}) == 1:
        return chosen[-1]
    raise tracking.fail(
        f"run {mv.run_id} logged several datasets ({', '.join(names)}): pick one with "
        "reference.dataset"
    )


def _context(dataset_input: dict[str, Any]) -> str | None:
    for tag in dataset_input.get("tags") or []:
        if tag.get("key") == "mlflow.data.context":
            return str(tag.get("value"))
    return None


def _read_dataset(
    tracking: Tracking, artifact_root: str, dataset: dict[str, Any]
) -> tuple[pd.DataFrame, str]:
    """A logged dataset's rows from its source: a local file, an http(s) URL, an artifact."""
    name = dataset.get("name")
    try:
        source = json.loads(dataset.get("source") or "{}")
    except ValueError:
        source = {}
    uri = source.get("uri") or source.get("url") if isinstance(source, dict) else None
    if not uri:
        raise tracking.fail(
            f"dataset {name!r} (source type {dataset.get('source_type')}) has no file to read; "
            "log it with a file source (mlflow.data.from_pandas(df, source=PATH_OR_URL)) "
            "or name the file with reference.artifact"
        )
    uri = str(uri)
    scheme = urlsplit(uri).scheme
    if scheme in ("", "file"):
        return _read_local(tracking, uri), safe_url(uri)
    if scheme == "runs":
        run_id, _, artifact = uri.removeprefix("runs:/").partition("/")
        info = (tracking.get("/runs/get", run_id=run_id).get("run") or {}).get("info") or {}
        root = str(info.get("artifact_uri") or "")
        frame, _, where = _read_artifact(tracking, run_id, root, artifact)
        return frame, where
    if scheme == "mlflow-artifacts":
        url = _proxy_url(tracking, uri)
        with tracking.download(url, PurePosixPath(uri).suffix) as (path, _):
            return _frame(tracking, path, uri), uri
    if scheme in ("http", "https"):  # another host: the tracking credentials stay home
        suffix = PurePosixPath(urlsplit(uri).path).suffix
        with tracking.download(uri, suffix, credentials=False) as (path, _):
            return _frame(tracking, path, uri), safe_url(uri)
    raise tracking.fail(
        f"dataset {name!r} is stored at a {scheme}:// URI the monitor does not read; log it with "
        "a local, http(s) or run-artifact source, or name the file with reference.artifact"
    )


def _read_local(tracking: Tracking, uri: str) -> pd.DataFrame:
    path = urlsplit(uri).path if uri.startswith("file:") else uri
    return _frame(tracking, Path(path), uri)


def _read_artifact(
    tracking: Tracking, run_id: str, artifact_root: str, artifact: str
) -> tuple[pd.DataFrame, str, str]:
    """A run artifact's rows, its sha256 digest and its URI; a missing one lists what exists."""
    parent = str(PurePosixPath(artifact).parent)
    listing = tracking.get(
        "/artifacts/list", run_id=run_id, **({"path": parent} if parent != "." else {})
    )
    files = [str(f.get("path")) for f in listing.get("files") or [] if not f.get("is_dir")]
    if artifact not in files:
        shown = ", ".join(files[:10]) or "none"
        raise tracking.fail(f"run {run_id} has no artifact {artifact!r} (files there: {shown})")
    uri = f"{artifact_root.rstrip('/')}/{artifact}"
    scheme = urlsplit(artifact_root).scheme
    if scheme in ("", "file"):
        local = Path(urlsplit(uri).path if scheme else uri)
        return _frame(tracking, local, uri), "sha256:" + _sha256(local), safe_url(uri)
    if scheme != "mlflow-artifacts":
        raise tracking.fail(
            f"the run's artifacts are in a {scheme}:// store the monitor does not read; serve them "
            "through the tracking server (mlflow server --artifacts-destination ...)"
        )
    with tracking.download(_proxy_url(tracking, uri), PurePosixPath(artifact).suffix) as (
        path,
        sha,
    ):
        return _frame(tracking, path, uri), "sha256:" + sha, uri


def _proxy_url(tracking: Tracking, uri: str) -> str:
    """mlflow-artifacts:/PATH (or mlflow-artifacts://host/PATH) as the proxy's download URL."""
    path = urlsplit(uri).path.lstrip("/")
    return f"{tracking.base}{ARTIFACTS}/{quote(path)}"


def _frame(tracking: Tracking, path: Path, uri: str) -> pd.DataFrame:
    from monitor.drift.frames import read_frame

    try:
        return read_frame(path)
    except InputError as exc:
        reason = str(exc).split(": ", 1)[-1]
        raise tracking.fail(f"cannot read {safe_url(uri)} as CSV or Parquet: {reason}") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise MlflowReferenceError(f"cannot read {path}: {exc.strerror}") from None
    return digest.hexdigest()
