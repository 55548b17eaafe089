"""A trivial retraining flow, deployed to a real Prefect server (run in the Prefect venv).

    PREFECT_API_URL=http://127.0.0.1:PORT/api .targets-venv/prefect/bin/python prefect_flow.py

prints the id of the deployment `retrain-churn/on-drift`, whose parameters are the facts the
monitor's `prefect` route sends by default (Prefect checks them against this signature).
"""

from prefect import flow


@flow(name="retrain-churn")
def retrain(
    delivery_id: str,
    alert_id: int | None = None,
    monitor: str = "",
    window_start: str | None = None,
    window_end: str | None = None,
    drifted_features: list[str] | None = None,
    report_url: str | None = None,
) -> str:
    return delivery_id


if __name__ == "__main__":
    print(retrain.to_deployment(name="on-drift").apply())
