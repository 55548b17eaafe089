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
