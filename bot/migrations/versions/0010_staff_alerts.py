"""staff alerts with a state (new → seen → done), links to order and complaint, one open alert
per cause and conversation (a partial unique index, on SQLite and PostgreSQL alike)

Revision ID: 0010
Revises: 0009
Create Date: 2027-02-01 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

OPEN = "status != 'done'"


def upgrade() -> None:
    with op.batch_alter_table('staffalert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False,
                                      server_default='new'))
        batch_op.add_column(sa.Column('order_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('complaint_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('repeats', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('seen_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('done_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('done_by', sa.Integer(), nullable=True))
    # Old rows: the old kind name, acknowledged means done, and older duplicates of an open cause are done.
    op.execute("UPDATE staffalert SET kind = 'negative' WHERE kind = 'negative_sentiment'")
    op.execute("UPDATE staffalert SET status = 'done', seen_at = acknowledged_at, done_at = acknowledged_at "
               "WHERE acknowledged_at IS NOT NULL")
    op.execute("UPDATE staffalert SET updated_at = created_at")
    op.execute("UPDATE staffalert SET status = 'done', done_at = created_at WHERE status != 'done' "
               "AND conversation_id IS NOT NULL AND id NOT IN (SELECT keep FROM (SELECT MAX(id) AS keep FROM "
               "staffalert WHERE status != 'done' GROUP BY kind, conversation_id) AS newest)")
    with op.batch_alter_table('staffalert', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False)
        batch_op.alter_column('status', existing_type=sqlmodel.sql.sqltypes.AutoString(length=8),
                              server_default=None)
        batch_op.alter_column('repeats', existing_type=sa.Integer(), server_default=None)
        batch_op.drop_column('acknowledged_at')
        batch_op.create_foreign_key('fk_staffalert_order_id', 'order', ['order_id'], ['id'])
        batch_op.create_foreign_key('fk_staffalert_complaint_id', 'complaint', ['complaint_id'], ['id'])
        batch_op.create_foreign_key('fk_staffalert_seen_by', 'staffuser', ['seen_by'], ['id'])
        batch_op.create_foreign_key('fk_staffalert_done_by', 'staffuser', ['done_by'], ['id'])
        batch_op.create_index(batch_op.f('ix_staffalert_status'), ['status'], unique=False)
    op.create_index('ux_staffalert_open', 'staffalert', ['kind', 'conversation_id'], unique=True,
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index('ux_staffalert_open', table_name='staffalert')
    with op.batch_alter_table('staffalert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acknowledged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.execute("UPDATE staffalert SET acknowledged_at = done_at")
    op.execute("UPDATE staffalert SET kind = 'negative_sentiment' WHERE kind = 'negative'")
    with op.batch_alter_table('staffalert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staffalert_status'))
        batch_op.drop_constraint('fk_staffalert_done_by', type_='foreignkey')
        batch_op.drop_constraint('fk_staffalert_seen_by', type_='foreignkey')
        batch_op.drop_constraint('fk_staffalert_complaint_id', type_='foreignkey')
        batch_op.drop_constraint('fk_staffalert_order_id', type_='foreignkey')
        for column in ('done_by', 'done_at', 'seen_by', 'seen_at', 'updated_at', 'repeats', 'complaint_id',
                       'order_id', 'status'):
            batch_op.drop_column(column)
