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
    # Who the token claims to be, before its version is checked (server/app.py).
    claimed_viewer: Viewer | None = None
    # Set by the HTTP endpoint, which ends the snapshot once the response has been sent: the
    # caller does not wait for the rollback and the connection's return to the pool.
    ends_after_response: bool = False
    _reader: ReadTransaction | None = None
    _loaders: Loaders | None = None

    def use_reader(self, reader: ReadTransaction) -> None:
        """Adopt a snapshot already opened for this request (with the token check)."""
        self._reader = reader

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

    async def finish(self) -> None:
        """The operation is answered: end the snapshot now, unless the endpoint ends it after
        sending the response."""
        if not self.ends_after_response:
            await self.close()

    async def close(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            await reader.close()
