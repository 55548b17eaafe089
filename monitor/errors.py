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
