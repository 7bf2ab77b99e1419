"""debtor email and where the WhatsApp opt-in came from

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:42:07.280693
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("debtor", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "whatsapp_opt_in_source",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("debtor", schema=None) as batch_op:
        batch_op.drop_column("whatsapp_opt_in_source")
        batch_op.drop_column("email")
