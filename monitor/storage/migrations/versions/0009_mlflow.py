"""MLflow references (issue 16 item 5).

- `reference_mlflow`: the model version, run and dataset (digest) an MLflow reference version
  was read from, one row per reference version.
- `mlflow_alias_watch`: the alias version the watcher last acted on (alias moves deploy once).

Revision ID: 0009_mlflow
Revises: 0008_marks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_mlflow"
down_revision = "0008_marks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reference_mlflow",
        sa.Column(
            "reference_id",
            sa.BigInteger,
            sa.ForeignKey("reference_datasets.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("model_uri", sa.Text, nullable=False),
        sa.Column("registered_model", sa.Text, nullable=False),
        sa.Column("alias", sa.Text),
        sa.Column("model_version", sa.Text, nullable=False),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("dataset_name", sa.Text),
        sa.Column("dataset_digest", sa.Text),
        sa.Column("artifact_path", sa.Text),
        sa.Column("data_uri", sa.Text, nullable=False),
    )
    op.create_table(
        "mlflow_alias_watch",
        sa.Column("model", sa.Text, primary_key=True),
        sa.Column("registered_model", sa.Text, primary_key=True),
        sa.Column("alias", sa.Text, primary_key=True),
        sa.Column("model_version", sa.Text, nullable=False),
        sa.Column("deployment_id", sa.BigInteger),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mlflow_alias_watch")
    op.drop_table("reference_mlflow")
