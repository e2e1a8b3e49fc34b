"""proven staff chat accounts (one-time link codes); one campaign click per link and visitor;
campaign messages in the contact history (message.delivery_id)

The staff chat ids of 0005 were typed in, never proven: they are dropped, not carried over.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 14:10:00.000000
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staffchatlink',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('linked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staffuser.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('staff_user_id', 'channel', name='uq_staffchatlink_staff_channel')
    )
    op.create_table('stafflinkcode',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staffuser.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash')
    )
    with op.batch_alter_table('stafflinkcode', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stafflinkcode_staff_user_id'), ['staff_user_id'], unique=False)

    with op.batch_alter_table('staffuser', schema=None) as batch_op:
        batch_op.drop_column('telegram_chat_id')
        batch_op.drop_column('line_user_id')

    with op.batch_alter_table('campaignclick', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('visitor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_foreign_key('fk_campaignclick_link_id_trackedlink', 'trackedlink', ['link_id'], ['id'])
        batch_op.create_unique_constraint('uq_campaignclick_link_visitor', ['link_id', 'visitor'])

    # A plain column and index: no table rebuild on SQLite, however long the history is.
    op.add_column('message', sa.Column('delivery_id', sa.Integer(), nullable=True))
    op.create_index('ix_message_delivery', 'message', ['delivery_id'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_message_delivery', table_name='message')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('delivery_id')

    with op.batch_alter_table('campaignclick', schema=None) as batch_op:
        batch_op.drop_constraint('uq_campaignclick_link_visitor', type_='unique')
        batch_op.drop_constraint('fk_campaignclick_link_id_trackedlink', type_='foreignkey')
        batch_op.drop_column('visitor')
        batch_op.drop_column('link_id')

    with op.batch_alter_table('staffuser', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line_user_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('telegram_chat_id', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))

    with op.batch_alter_table('stafflinkcode', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stafflinkcode_staff_user_id'))

    op.drop_table('stafflinkcode')
    op.drop_table('staffchatlink')
