"""The mutation root: one mixin per area."""

from __future__ import annotations

import strawberry

from schema.account_people import AccountPeopleMutations
from schema.booking_mutations import BookingMutations
from schema.customer_mutations import CustomerMutations
from schema.history_mutations import HistoryMutations
from schema.member import MemberMutations
from schema.merge import MergeMutations
from schema.payment_methods import PaymentMethodMutations


@strawberry.type(
    description="Changes to the customer subgraph. Every mutation returns a payload "
    "with the changed object and `errors: [UserError!]!` (empty on success)."
)
class Mutation(
    CustomerMutations,
    AccountPeopleMutations,
    MergeMutations,
    PaymentMethodMutations,
    BookingMutations,
    HistoryMutations,
    MemberMutations,
):
    pass
