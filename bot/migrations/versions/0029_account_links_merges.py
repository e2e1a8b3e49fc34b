"""account linking and contact merges: a contact merged into another, the merge records, customers' link codes

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 13:55:35.755944
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contactmerge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survivor_id', sa.Integer(), nullable=False),
    sa.Column('merged_id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=True),
    sa.Column('moved', sa.JSON(), nullable=False),
    sa.Column('changed', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('undone_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('undone_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['merged_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staffuser.id'], ),
    sa.ForeignKeyConstraint(['survivor_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['undone_by_id'], ['staffuser.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contactmerge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contactmerge_merged_id'), ['merged_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contactmerge_survivor_id'), ['survivor_id'], unique=False)

    op.create_table('accountlinkcode',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash')
    )
    with op.batch_alter_table('accountlinkcode', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accountlinkcode_contact_id'), ['contact_id'], unique=False)

    # Added in place: no copy of the contact table on SQLite (every history row points at it).
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE contact ADD COLUMN merged_into INTEGER REFERENCES contact (id)')
    else:
        op.add_column('contact', sa.Column('merged_into', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_contact_merged_into', 'contact', 'contact', ['merged_into'], ['id'])
    op.create_index('ix_contact_merged_into', 'contact', ['merged_into'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_contact_merged_into', table_name='contact')
    if op.get_bind().dialect.name == 'sqlite':  # its foreign key has no name there: the copy leaves it out
        with op.batch_alter_table('contact', schema=None) as batch_op:
            batch_op.drop_column('merged_into')
    else:
        op.drop_constraint('fk_contact_merged_into', 'contact', type_='foreignkey')
        op.drop_column('contact', 'merged_into')

    with op.batch_alter_table('accountlinkcode', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accountlinkcode_contact_id'))

    op.drop_table('accountlinkcode')
    with op.batch_alter_table('contactmerge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contactmerge_survivor_id'))
        batch_op.drop_index(batch_op.f('ix_contactmerge_merged_id'))

    op.drop_table('contactmerge')
