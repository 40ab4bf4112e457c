"""aiodataloader loaders, one per relation, bundled per request (`Loaders`).

Loaders must be built inside the running event loop (aiodataloader captures it), so a fresh
bundle is made for every request and after every mutation commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from loaders.people import (
    AdditionalUserByIdLoader,
    AdditionalUsersByCustomerLoader,
    CustomerByIdLoader,
    ParticipantByIdLoader,
    ParticipantsByCustomerLoader,
)
from server.db import ReadTransaction


@dataclass(frozen=True)
class Loaders:
    customer_by_id: CustomerByIdLoader
    participant_by_id: ParticipantByIdLoader
    additional_user_by_id: AdditionalUserByIdLoader
    participants_by_customer: ParticipantsByCustomerLoader
    additional_users_by_customer: AdditionalUsersByCustomerLoader

    @classmethod
    def build(cls, reader: ReadTransaction) -> Loaders:
        return cls(
            customer_by_id=CustomerByIdLoader(reader),
            participant_by_id=ParticipantByIdLoader(reader),
            additional_user_by_id=AdditionalUserByIdLoader(reader),
            participants_by_customer=ParticipantsByCustomerLoader(reader),
            additional_users_by_customer=AdditionalUsersByCustomerLoader(reader),
        )
