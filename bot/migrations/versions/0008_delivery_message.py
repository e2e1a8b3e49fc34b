"""a campaign recipient's row points at its outbound message (delivery.message_id), instead of
the message pointing at the broadcasts table (message.delivery_id, dropped)

Revision ID: 0008
Revises: 0007
Create Date: 2027-01-10 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite rebuilds the table for a foreign key (batch mode); PostgreSQL alters it in place.
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_delivery_message_id_message', 'message', ['message_id'], ['id'])
        batch_op.create_index('ix_delivery_message', ['message_id'], unique=True)
    op.execute("UPDATE delivery SET message_id = (SELECT message.id FROM message "
               "WHERE message.delivery_id = delivery.id)")
    op.drop_index('ix_message_delivery', table_name='message')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('delivery_id')


def downgrade() -> None:
    op.add_column('message', sa.Column('delivery_id', sa.Integer(), nullable=True))
    op.create_index('ix_message_delivery', 'message', ['delivery_id'], unique=True)
    op.execute("UPDATE message SET delivery_id = (SELECT delivery.id FROM delivery "
               "WHERE delivery.message_id = message.id)")
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_message')
        batch_op.drop_constraint('fk_delivery_message_id_message', type_='foreignkey')
        batch_op.drop_column('message_id')
