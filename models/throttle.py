"""Failed log-in counters: global (not per business), one row per account or client address.

The service role cannot read or write this table directly (a deny-all policy and no grants): it
goes through `login_attempt_begin` and `login_attempt_succeeded` (migration 0007), which count
atomically whatever the number of concurrent attempts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class LoginThrottle(Base):
    """Failures of one account (a hash of business and lower-cased email) or one address."""

    __tablename__ = "login_throttles"
    __table_args__ = (CheckConstraint("scope IN ('ACCOUNT', 'ADDRESS')", name="scope"),)

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    lockouts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
