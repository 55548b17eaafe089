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
    assert s.monitors[0].drift.per_feature["monthly_charges"]["method"] == "psi"
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
        ({"kafka": {"colour": "red"}}, "kafka.colour", "Extra inputs"),
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
