"""page versions (what members' cached pages were rendered under) and due live counters

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 19:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('page_versions',
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('scope', name=op.f('pk_page_versions'))
    )
    op.create_table('live_counts_due',
    sa.Column('circular_id', sa.Integer(), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['circular_id'], ['circulars.id'], name=op.f('fk_live_counts_due_circular_id_circulars'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('circular_id', name=op.f('pk_live_counts_due'))
    )


def downgrade():
    op.drop_table('live_counts_due')
    op.drop_table('page_versions')
