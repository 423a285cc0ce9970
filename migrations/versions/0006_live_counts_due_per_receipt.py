"""due live counters: one mark per receipt instead of one per circular

A recount on PostgreSQL can run while a receipt is still uncommitted; with one shared
row per circular the recount deleted the mark that receipt relied on, and the leaders'
counter stayed short.  Each receipt now writes its own mark.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 11:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _recreate(columns, *constraints, index=False):
    """Replace the table, keeping the circulars still due (a few rows at most)."""
    conn = op.get_bind()
    due = conn.execute(sa.text(
        "SELECT circular_id, min(since) FROM live_counts_due GROUP BY circular_id")).all()
    op.drop_table('live_counts_due')
    op.create_table('live_counts_due', *columns, *constraints)
    if index:
        op.create_index(op.f('ix_live_counts_due_circular_id'), 'live_counts_due',
                        ['circular_id'], unique=False)
    if due:  # as the database returned them: SQLite's stored text goes back unchanged
        conn.execute(sa.text("INSERT INTO live_counts_due (circular_id, since) VALUES (:c, :s)"),
                     [{"c": c, "s": s} for c, s in due])


def _fk():
    return sa.ForeignKeyConstraint(['circular_id'], ['circulars.id'],
                                   name=op.f('fk_live_counts_due_circular_id_circulars'),
                                   ondelete='CASCADE')


def upgrade():
    _recreate([sa.Column('id', sa.Integer(), nullable=False),
               sa.Column('circular_id', sa.Integer(), nullable=False),
               sa.Column('since', sa.DateTime(timezone=True), nullable=False)],
              _fk(), sa.PrimaryKeyConstraint('id', name=op.f('pk_live_counts_due')),
              index=True)


def downgrade():
    _recreate([sa.Column('circular_id', sa.Integer(), nullable=False),
               sa.Column('since', sa.DateTime(timezone=True), nullable=False)],
              _fk(), sa.PrimaryKeyConstraint('circular_id', name=op.f('pk_live_counts_due')))
