"""SQLAlchemy models: every table of the customer subgraph. Importing this package registers
them all on `Base.metadata` (what Alembic compares against)."""

from models.base import Base
from models.business import Business, NumberCounter, StaffUser
from models.campaigns import CampaignAudience, CampaignAudienceMember
from models.catalog import (
    Event,
    Facilitator,
    PassProduct,
    Plan,
    Questionnaire,
    Service,
    Session,
    Video,
)
from models.directory import DirectoryEntry, DirectoryTally, DirectoryVocabulary, DirectoryWord
from models.history import (
    CATEGORY_TABLES,
    AccountHistoryEntry,
    Appointment,
    Booking,
    CustomerPass,
    CustomerSubscription,
    HistoryTally,
    Message,
    Note,
    Payment,
    QuestionnaireResponse,
    Refund,
    SalesMonth,
    VideoPurchase,
)
from models.jobs import Job, JobItem
from models.people import (
    AdditionalUser,
    ConsentRecord,
    Customer,
    LoginEmail,
    Participant,
    PaymentMethod,
)
from models.stripe_records import StripeCall, StripeEvent
from models.throttle import LoginThrottle

__all__ = [
    "CATEGORY_TABLES",
    "AccountHistoryEntry",
    "AdditionalUser",
    "Appointment",
    "Base",
    "Booking",
    "Business",
    "CampaignAudience",
    "CampaignAudienceMember",
    "ConsentRecord",
    "Customer",
    "CustomerPass",
    "CustomerSubscription",
    "DirectoryEntry",
    "DirectoryTally",
    "DirectoryVocabulary",
    "DirectoryWord",
    "Event",
    "Facilitator",
    "HistoryTally",
    "Job",
    "JobItem",
    "LoginEmail",
    "LoginThrottle",
    "Message",
    "Note",
    "NumberCounter",
    "Participant",
    "PassProduct",
    "Payment",
    "PaymentMethod",
    "Plan",
    "Questionnaire",
    "QuestionnaireResponse",
    "Refund",
    "SalesMonth",
    "Service",
    "Session",
    "StaffUser",
    "StripeCall",
    "StripeEvent",
    "Video",
    "VideoPurchase",
]
