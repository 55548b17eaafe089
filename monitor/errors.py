"""One exception family; the CLI and the consumer loop translate it once, at the edge."""


class MonitorError(Exception):
    """Base of every error we raise on purpose. `exit_code` is what the CLI exits with."""

    exit_code = 2


class ConfigError(MonitorError):
    """The service config is invalid; the message names the key path."""


class InputError(MonitorError):
    """A file or argument given by the user cannot be used (unreadable, empty, mismatched)."""


class StorageError(MonitorError):
    """The store is unreachable or refused a write."""


class StorageUnavailable(StorageError):
    """The store cannot be reached right now (connection refused/lost, SQLite locked).
    Retrying later may succeed; nothing of the failed transaction was stored."""


class DriftError(MonitorError):
    """The drift engine was asked for something it cannot compute (unknown method, bad kind)."""


class EstimationError(MonitorError):
    """A performance estimator cannot be fitted or applied (unknown method, unusable input)."""


# --- ops (C2): Kafka reachability, health checks ---


class KafkaUnavailable(MonitorError):
    """The Kafka broker cannot be reached, or refused a request (consumer, producer, lag)."""


class Unhealthy(MonitorError):
    """`monitor healthcheck`: the serving loop's heartbeat is missing or stale."""

    exit_code = 1


# --- sched (scheduler, reference, replay, demo) ---


class ReferenceFailed(MonitorError):
    """No usable reference (not materialised, empty, unreadable)."""


class ReferencePending(ReferenceFailed):
    """The reference's source is still being collected (its range, first N events or first
    D days are not complete): nothing is broken, there is just nothing to compare with yet."""


class DemoError(MonitorError):
    """The demo could not complete (e.g. the consumer did not catch up in time)."""


# --- alerts (rules, alerts, notify, settings) ---


class NotifyError(MonitorError):
    """One notification attempt cannot be made; the sender turns it into a failed or retried
    delivery (it never reaches the CLI)."""


class TargetConfigError(NotifyError):
    """The route cannot build its request (unset auth variable, template error): terminal."""


class NotSent(NotifyError):
    """The request did not reach the server (refused, DNS, TLS handshake): safe to retry."""


class NoAnswer(NotifyError):
    """The request was (possibly) sent, but no complete answer came back (timeout, reset)."""


class RouteTestFailed(MonitorError):
    """`monitor routes test`: the target refused the test notification or was unreachable."""

    exit_code = 1


# --- drift ---


class KeyPathError(MonitorError, ValueError):
    """A config validation error below the object being validated: `path` extends its
    location. A ValueError so that pydantic reports it as a validation error."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


# --- ingest ---

REASONS = frozenset(
    {
        "too_large",
        "invalid_utf8",
        "invalid_json",
        "not_an_object",
        "missing_field",
        "wrong_type",
        "empty_string",
        "too_long",
        "too_many_entries",
        "invalid_string",
        "invalid_timestamp",
        "non_finite_number",
        "out_of_range",
        "unknown_model",
    }
)
"""The closed set of event rejection reasons: stable codes for dead letters, counters and
alerts (monitor.events re-exports it)."""


class EventRejected(MonitorError):
    """A message that breaks the event contract. `reason` is a code from REASONS; `detail`
    names the field and what was expected."""

    def __init__(self, reason: str, detail: str) -> None:
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class BrokerError(MonitorError):
    """The local demo broker is missing or did not start."""


class TopicError(MonitorError):
    """The broker refused to create a topic."""


class CopyConflict(StorageError):
    """COPY met a row that is already stored: roll back and use the idempotent INSERT."""


# --- deploy ---


class UnknownModel(ConfigError):
    """A deployment names a model no configured monitor watches (the API answers 404)."""


# --- episodes ---


class DeploymentRaced(MonitorError):
    """Another deployment of the model was stored at the same time (the API answers 409)."""


# --- b16-mlflow (issue 16 item 5) ---


class MlflowReferenceError(ReferenceFailed, InputError):
    """An MLflow reference cannot be read: bad URI, unknown model/alias/version, no dataset
    or artifact, tracking server unreachable. The message names the monitor and its key
    (an unreadable reference: the deployment API answers 400, a run records it as failed)."""
