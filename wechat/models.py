"""The shared access-token cache: one row per app, so every worker and web process uses the
same token instead of each fetching its own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db


class WeChatAccessToken(db.Model):
    __tablename__ = "wechat_access_token"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str] = mapped_column(String(1024))  # WeChat says: keep ≥ 512 characters
    expires_at: Mapped[datetime]
    fetched_at: Mapped[datetime]
