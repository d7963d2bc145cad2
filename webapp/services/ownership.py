"""What a user may see of the rows people own (devices, provisioning keys, firmware images, rollouts): their
own, or every row for an admin. A row of someone else's is answered as one that does not exist, so ids of
others' rows tell nothing (docs/SECURITY.md)."""
from sqlalchemy import select

from webapp.core import tokens
from webapp.core.errors import NotFound
from webapp.extensions import db


def visible_rows(user, model, *order_by):
    """The rows of `model` that `user` may see, in `order_by`."""
    query = select(model).order_by(*order_by)
    if not user.is_admin:
        query = query.where(model.owner_id == user.id)
    return db.session.scalars(query).all()


def visible_row(user, model, row_id, missing, is_id=tokens.is_row_id):
    """The row with `row_id` if `user` may see it; otherwise NotFound with the text `missing`."""
    row = db.session.get(model, row_id) if is_id(row_id) else None
    if row is None or not (user.is_admin or row.owner_id == user.id):
        raise NotFound(missing)
    return row
