"""Config validation: a bad key fails at start naming its path; secrets come from the env."""

from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.settings import interpolate_env, load_settings, parse_settings

EXAMPLE = Path(__file__).parent.parent / "config" / "monitor.example.yaml"


def test_example_config_is_valid() -> None:
    env = {
        "KAFKA_BOOTSTRAP": "k1:9092",
        "SLACK_WEBHOOK_URL": "https://hooks.slack.invalid/T/B/x",
        "RETRAIN_WEBHOOK_SECRET": "s3cret",
    }
    s = load_settings(EXAMPLE, env=env)
    assert s.kafka.bootstrap_servers == ["k1:9092"]
    assert s.alerting.routes["retrain"].secret.get_secret_value() == "s3cret"
    assert s.monitors[0].rules[0].name == "dataset-drift"
    assert s.database.url.get_secret_value() == "sqlite:///monitor.db"
    assert s.monitors[0].drift.per_feature["monthly_charges"].method == "psi"
    assert s.known_models() == frozenset({"churn"})


def test_example_config_names_a_missing_secret() -> None:
    with pytest.raises(ConfigError, match="RETRAIN_WEBHOOK_SECRET is not set"):
        load_settings(EXAMPLE, env={"SLACK_WEBHOOK_URL": "https://x.invalid"})


def test_defaults_without_a_file() -> None:
    s = load_settings(None)
    assert s.kafka.predictions_topic == "predictions"
    assert s.kafka.labels_topic == "labels"
    assert s.database.url.get_secret_value().startswith("sqlite")


@pytest.mark.parametrize(
    ("data", "path", "expected"),
    [
        ({"kafka": {"max_poll_records": "many"}}, "kafka.max_poll_records", "integer"),
        ({"kafka": {"bootstrap_servers": []}}, "kafka.bootstrap_servers", "at least 1"),
        ({"kafka": {"security_protocol": "TLS"}}, "kafka.security_protocol", "PLAINTEXT"),
        ({"kafka": {"colour": "red"}}, "kafka", "unknown key 'colour'"),
        ({"database": {"url": "mysql://x"}}, "database.url", "sqlite://"),
        (
            {"monitors": [{"name": "a", "model": "m", "drift": {"drift_share": 2}}]},
            "monitors[0].drift.drift_share",
            "less than or equal to 1",
        ),
        ({"monitors": [{"name": "a"}]}, "monitors[0].model", "Field required"),
        (
            {"monitors": [{"name": "a", "model": "m"}, {"name": "a", "model": "n"}]},
            "monitors",
            "used twice",
        ),
        (
            {"kafka": {"session_timeout_ms": 3000, "heartbeat_interval_ms": 2000}},
            "kafka",
            "a third of session_timeout_ms",
        ),
    ],
)
def test_bad_config_names_the_key(data: dict, path: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(data, env={})
    message = str(info.value)
    assert message.startswith(f"config error at {path}:"), message
    assert expected in message
    assert "\n" not in message


def test_missing_env_var_names_key_and_variable() -> None:
    with pytest.raises(
        ConfigError, match=r"at kafka\.sasl_plain_password: environment variable KAFKA_PW"
    ):
        parse_settings({"kafka": {"sasl_plain_password": "${KAFKA_PW}"}}, env={})


def test_env_default_and_nested_lists() -> None:
    got = interpolate_env({"a": ["${X:-1}", "p-${Y}-q"]}, env={"Y": "z"})
    assert got == {"a": ["1", "p-z-q"]}


def test_secrets_never_appear_in_repr() -> None:
    s = parse_settings(
        {
            "kafka": {
                "sasl_mechanism": "PLAIN",
                "sasl_plain_username": "u",
                "sasl_plain_password": "${PW}",
            },
            "database": {"url": "postgresql+psycopg://u:${DBPW}@h/db"},
        },
        env={"PW": "hunter2", "DBPW": "s3cret"},
    )
    assert "hunter2" not in repr(s) and "s3cret" not in repr(s)
    assert s.kafka.client_options()["sasl_plain_password"] == "hunter2"


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("kafka: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad)
    top = tmp_path / "list.yaml"
    top.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_settings(top)


def _monitor(drift: dict, **extra) -> dict:
    return {"monitors": [{"name": "a", "model": "m", "drift": drift, **extra}]}


@pytest.mark.parametrize(
    ("data", "path", "expected"),
    [
        (
            _monitor({"method": "no_such_method"}),
            "monitors[0].drift.method",
            "unknown drift method 'no_such_method'; valid methods: anderson,",
        ),
        (
            _monitor({"per_feature": {"x": {"treshold": 0.1}}}),
            "monitors[0].drift.per_feature.x",
            "unknown key 'treshold' (expected kind, method, threshold)",
        ),
        (
            _monitor({"per_feature": {"x": {"method": "nope"}}}),
            "monitors[0].drift.per_feature.x.method",
            "unknown drift method 'nope'",
        ),
        (
            _monitor({"per_feature": {"x": {"kind": "text"}}}),
            "monitors[0].drift.per_feature.x.kind",
            "'numeric' or 'categorical'",
        ),
        (
            _monitor({"per_feature": {"x": {"threshold": "high"}}}),
            "monitors[0].drift.per_feature.x.threshold",
            "valid number",
        ),
        (
            _monitor({"per_feature": {"x": {"threshold": -0.1}}}),
            "monitors[0].drift.per_feature.x.threshold",
            "greater than or equal to 0",
        ),
        (_monitor({"threshold": float("nan")}), "monitors[0].drift.threshold", "finite"),
        (
            _monitor({"per_feature": {"x": {"kind": "numeric", "method": "chisquare"}}}),
            "monitors[0].drift.per_feature.x.method",
            "drift method 'chisquare' does not apply to numeric features",
        ),
        (  # the kind comes from the monitor's `features`
            _monitor({"per_feature": {"x": {"method": "ks"}}}, features={"x": "categorical"}),
            "monitors[0].drift.per_feature.x.method",
            "drift method 'ks' does not apply to categorical features",
        ),
        (
            _monitor({"per_feature": {"x": "psi"}}),
            "monitors[0].drift.per_feature.x",
            "valid dictionary",
        ),
        ({"kafka": {"colour": "red"}}, "kafka", "unknown key 'colour' (expected "),
    ],
)
def test_bad_drift_section_fails_at_load_naming_the_key(data, path, expected) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(data, env={})
    message = str(info.value)
    assert message.startswith(f"config error at {path}: "), message
    assert expected in message, message


def test_the_issue_example_fails_at_load() -> None:
    data = _monitor({"method": "no_such_method", "per_feature": {"x": {"treshold": 0.1}}})
    with pytest.raises(ConfigError) as info:
        parse_settings(data, env={})
    assert str(info.value).startswith("config error at monitors[0].drift.method: unknown drift")
    assert str(info.value).endswith("(and 1 more)")


def test_valid_drift_section_loads() -> None:
    s = parse_settings(
        _monitor(
            {"method": "psi", "threshold": 0.2, "per_feature": {"x": {"method": "ks"}}},
            features={"x": "numeric"},
        ),
        env={},
    )
    fs = s.monitors[0].drift.per_feature["x"]
    assert (fs.method, fs.threshold, fs.kind) == ("ks", None, None)
