"""The per-request context every resolver receives: who is asking, the database handle, the
request's read snapshot and its loaders, and the statement counter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.auth import TokenService, Viewer
from server.db import Database, ReadTransaction, StatementCounter
from server.settings import Settings

if TYPE_CHECKING:
    from integrations.stripe_client import StripeGateway
    from loaders import Loaders


@dataclass
class Context:
    """Built per request inside the running loop (loaders capture it)."""

    db: Database
    settings: Settings
    viewer: Viewer | None
    # Why the token was refused, when one was sent and refused; None when none was sent.
    auth_error: str | None = None
    # The process's Stripe client; None where payments are not wired (some tests).
    stripe: StripeGateway | None = None
    counter: StatementCounter = field(default_factory=StatementCounter)
    client_address: str | None = None
    # Signs the member tokens that log-in and password changes answer with.
    tokens: TokenService | None = None
    request: Any = None
    response: Any = None
    _reader: ReadTransaction | None = None
    _loaders: Loaders | None = None

    @property
    def reader(self) -> ReadTransaction:
        if self.viewer is None:
            raise RuntimeError("reads need an authenticated viewer")
        if self._reader is None:
            self._reader = self.db.reader(self.viewer.business_id, self.counter)
        return self._reader

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from loaders import Loaders

            self._loaders = Loaders.build(self.reader)
        return self._loaders

    async def fresh_snapshot(self) -> None:
        """After a mutation commits: answer from a new snapshot with fresh loaders."""
        await self.close()
        self._loaders = None

    async def close(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            await reader.close()
