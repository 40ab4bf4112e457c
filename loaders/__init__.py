"""aiodataloader loaders, one per relation, bundled per request (`Loaders`).

Loaders must be built inside the running event loop (aiodataloader captures it), so a fresh
bundle is made for every request and after every mutation commits.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Loaders:
    customer_by_id: CustomerByIdLoader
    participant_by_id: ParticipantByIdLoader
    additional_user_by_id: AdditionalUserByIdLoader
    participants_by_customer: ParticipantsByCustomerLoader
    additional_users_by_customer: AdditionalUsersByCustomerLoader
    # The profile: one loader per tab, the account panel, and history and catalog by id.
    bookings_tab: TabLoader
    appointments_tab: TabLoader
    passes_tab: TabLoader
    videos_tab: TabLoader
    subscriptions_tab: TabLoader
    questionnaires_tab: TabLoader
    notes_tab: TabLoader
    account_history_tab: TabLoader
    account_summary: AccountSummaryLoader
    questionnaire_answers: AnswersByResponseLoader
    booking_by_id: RecordByIdLoader
    appointment_by_id: RecordByIdLoader
    customer_pass_by_id: RecordByIdLoader
    video_purchase_by_id: RecordByIdLoader
    customer_subscription_by_id: RecordByIdLoader
    questionnaire_response_by_id: RecordByIdLoader
    note_by_id: RecordByIdLoader
    account_history_entry_by_id: RecordByIdLoader
    payment_by_id: RecordByIdLoader
    refund_by_id: RecordByIdLoader
    message_by_id: RecordByIdLoader
    event_by_id: RecordByIdLoader
    session_by_id: RecordByIdLoader
    service_by_id: RecordByIdLoader
    facilitator_by_id: RecordByIdLoader
    pass_product_by_id: RecordByIdLoader
    video_by_id: RecordByIdLoader
    plan_by_id: RecordByIdLoader
    questionnaire_by_id: RecordByIdLoader

    @classmethod
    def build(cls, reader: ReadTransaction) -> Loaders:
        return cls(
            customer_by_id=CustomerByIdLoader(reader),
            participant_by_id=ParticipantByIdLoader(reader),
            additional_user_by_id=AdditionalUserByIdLoader(reader),
            participants_by_customer=ParticipantsByCustomerLoader(reader),
            additional_users_by_customer=AdditionalUsersByCustomerLoader(reader),
            bookings_tab=TabLoader(reader, history.BOOKINGS),
            appointments_tab=TabLoader(reader, history.APPOINTMENTS),
            passes_tab=TabLoader(reader, history.PASSES),
            videos_tab=TabLoader(reader, history.VIDEOS),
            subscriptions_tab=TabLoader(reader, history.SUBSCRIPTIONS),
            questionnaires_tab=TabLoader(reader, history.QUESTIONNAIRES),
            notes_tab=TabLoader(reader, history.NOTES),
            account_history_tab=TabLoader(reader, history.ACCOUNT_HISTORY),
            account_summary=AccountSummaryLoader(reader),
            questionnaire_answers=AnswersByResponseLoader(reader),
            booking_by_id=RecordByIdLoader(reader, history.BOOKINGS),
            appointment_by_id=RecordByIdLoader(reader, history.APPOINTMENTS),
            customer_pass_by_id=RecordByIdLoader(reader, history.PASSES),
            video_purchase_by_id=RecordByIdLoader(reader, history.VIDEOS),
            customer_subscription_by_id=RecordByIdLoader(reader, history.SUBSCRIPTIONS),
            questionnaire_response_by_id=RecordByIdLoader(reader, history.QUESTIONNAIRES),
            note_by_id=RecordByIdLoader(reader, history.NOTES),
            account_history_entry_by_id=RecordByIdLoader(reader, history.ACCOUNT_HISTORY),
            payment_by_id=RecordByIdLoader(reader, history.PAYMENTS),
            refund_by_id=RecordByIdLoader(reader, history.REFUNDS),
            message_by_id=RecordByIdLoader(reader, history.MESSAGES),
            event_by_id=RecordByIdLoader(reader, history.EVENTS),
            session_by_id=RecordByIdLoader(reader, history.SESSIONS),
            service_by_id=RecordByIdLoader(reader, history.SERVICES),
            facilitator_by_id=RecordByIdLoader(reader, history.FACILITATORS),
            pass_product_by_id=RecordByIdLoader(reader, history.PASS_PRODUCTS),
            video_by_id=RecordByIdLoader(reader, history.VIDEO_PRODUCTS),
            plan_by_id=RecordByIdLoader(reader, history.PLANS),
            questionnaire_by_id=RecordByIdLoader(reader, history.QUESTIONNAIRE_FORMS),
        )
