"""aiodataloader loaders, one per relation, bundled per request (`Loaders`).

Loaders must be built inside the running event loop (aiodataloader captures it), so a fresh
bundle is made for every request and after every mutation commits. Each loader is built on
first use: a request uses a few of them, and building all thirty cost more than it needed.
"""

from __future__ import annotations

from functools import cached_property

from loaders import history
from loaders.history import (
    AccountSummaryLoader,
    AnswersByResponseLoader,
    RecordByIdLoader,
    TabLoader,
)
from loaders.people import (
    AdditionalUserByIdLoader,
    AdditionalUsersByCustomerLoader,
    CustomerByIdLoader,
    ParticipantByIdLoader,
    ParticipantsByCustomerLoader,
)
from server.db import ReadTransaction


class Loaders:
    """The request's loaders, each built the first time it is asked for."""

    def __init__(self, reader: ReadTransaction) -> None:
        self._reader = reader

    @classmethod
    def build(cls, reader: ReadTransaction) -> Loaders:
        return cls(reader)

    @cached_property
    def customer_by_id(self) -> CustomerByIdLoader:
        return CustomerByIdLoader(self._reader)

    @cached_property
    def participant_by_id(self) -> ParticipantByIdLoader:
        return ParticipantByIdLoader(self._reader)

    @cached_property
    def additional_user_by_id(self) -> AdditionalUserByIdLoader:
        return AdditionalUserByIdLoader(self._reader)

    @cached_property
    def participants_by_customer(self) -> ParticipantsByCustomerLoader:
        return ParticipantsByCustomerLoader(self._reader)

    @cached_property
    def additional_users_by_customer(self) -> AdditionalUsersByCustomerLoader:
        return AdditionalUsersByCustomerLoader(self._reader)

    # The profile: one loader per tab, the account panel, and history and catalog by id.

    @cached_property
    def bookings_tab(self) -> TabLoader:
        return TabLoader(self._reader, history.BOOKINGS)

    @cached_property
    def appointments_tab(self) -> TabLoader:
        return TabLoader(self._reader, history.APPOINTMENTS)

    @cached_property
    def passes_tab(self) -> TabLoader:
        return TabLoader(self._reader, history.PASSES)

    @cached_property
    def videos_tab(self) -> TabLoader:
        return TabLoader(self._reader, history.VIDEOS)

    @cached_property
    def subscriptions_tab(self) -> TabLoader:
        return TabLoader(self._reader, history.SUBSCRIPTIONS)

    @cached_property
    def questionnaires_tab(self) -> TabLoader:
        return TabLoader(self._reader, history.QUESTIONNAIRES)

    @cached_property
    def notes_tab(self) -> TabLoader:
        return TabLoader(self._reader, history.NOTES)

    @cached_property
    def account_history_tab(self) -> TabLoader:
        return TabLoader(self._reader, history.ACCOUNT_HISTORY)

    @cached_property
    def account_summary(self) -> AccountSummaryLoader:
        return AccountSummaryLoader(self._reader)

    @cached_property
    def questionnaire_answers(self) -> AnswersByResponseLoader:
        return AnswersByResponseLoader(self._reader)

    @cached_property
    def booking_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.BOOKINGS)

    @cached_property
    def appointment_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.APPOINTMENTS)

    @cached_property
    def customer_pass_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.PASSES)

    @cached_property
    def video_purchase_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.VIDEOS)

    @cached_property
    def customer_subscription_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.SUBSCRIPTIONS)

    @cached_property
    def questionnaire_response_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.QUESTIONNAIRES)

    @cached_property
    def note_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.NOTES)

    @cached_property
    def account_history_entry_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.ACCOUNT_HISTORY)

    @cached_property
    def payment_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.PAYMENTS)

    @cached_property
    def refund_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.REFUNDS)

    @cached_property
    def message_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.MESSAGES)

    @cached_property
    def event_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.EVENTS)

    @cached_property
    def session_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.SESSIONS)

    @cached_property
    def service_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.SERVICES)

    @cached_property
    def facilitator_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.FACILITATORS)

    @cached_property
    def pass_product_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.PASS_PRODUCTS)

    @cached_property
    def video_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.VIDEO_PRODUCTS)

    @cached_property
    def plan_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.PLANS)

    @cached_property
    def questionnaire_by_id(self) -> RecordByIdLoader:
        return RecordByIdLoader(self._reader, history.QUESTIONNAIRE_FORMS)
