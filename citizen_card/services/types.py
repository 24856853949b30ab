"""Types shared by the services."""

from __future__ import annotations

from typing import Any, TypeAlias

from sqlalchemy.orm import Session, scoped_session

# Services take the session explicitly. Views pass Flask-SQLAlchemy's scoped session,
# scripts and tests a plain one; both offer the same API.
DbSession: TypeAlias = Session | scoped_session[Any]
