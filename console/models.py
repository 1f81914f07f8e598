"""What the console keeps of its own: the client ids of forms that must act once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import db


class FormSubmission(db.Model):
    """A bulk form's client id (a UUID the page made when it was drawn), claimed by the
    first copy of the post that carried it, in the same transaction as its changes: a
    resend of that form (the browser's resubmit, a second click, a retry after a lost
    answer) finds the row and answers what the first copy answered, changing nothing.
    A refused post stores nothing (its transaction is rolled back), and the page drawn
    after it carries a new id."""

    __tablename__ = "console_form_submission"

    client_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(200))  # the form's action: one id, one form
    done: Mapped[str] = mapped_column(String(300))  # what the first copy told the office
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
