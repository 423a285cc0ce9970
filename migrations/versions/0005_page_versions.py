"""page versions: what members' cached pages were rendered under

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


def downgrade():
    op.drop_table('page_versions')
