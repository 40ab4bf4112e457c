"""The customer directory: one row per person the list shows (customers, non-self participants,
additional users), kept current by triggers on the people tables in the same transaction, so a
search reflects an edit the moment it commits.

A separate table rather than a union of three: one sorted index per tab and category, one
trigram index, one keyset, one count.
"""

from __future__ import annotations

import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, folded, tenant_fk
from models.people import EMAIL_LENGTH, MOBILE_DIGITS, MOBILE_LENGTH, NAME_LENGTH

FIRST_KEY = "immutable_unaccent(lower(first_name))"
# The first word after the first word of the last name and of the first name ("Ní Bhriain").
EXTRA_WORD = "coalesce((directory_further_words(first_name, last_name))[1], '')"
CATEGORY_COLUMNS = ["kind", "category", "is_participant"]


def _list_index(name: str, where: str) -> Index:
    return Index(
        f"ix_directory_entries_{name}",
        "business_id",
        "status",
        "name_key",
        "person_id",
        postgresql_where=text(where),
    )


def _prefix_index(column: str, include: list[str]) -> Index:
    return Index(
        f"ix_directory_entries_{column}",
        "business_id",
        "status",
        column,
        "name_key",
        "person_id",
        postgresql_include=include,
        postgresql_where=text(f"{column} <> ''") if column.startswith("extra") else None,
    )


class DirectoryEntry(Base):
    """A row of the customer list."""

    __tablename__ = "directory_entries"
    __table_args__ = (
        tenant_fk(["customer_id"], "customers", ondelete="CASCADE"),
        CheckConstraint("kind IN ('CUSTOMER', 'PARTICIPANT', 'ADDITIONAL_USER')", name="kind"),
        CheckConstraint("status IN ('ACTIVE', 'ARCHIVED')", name="status"),
        CheckConstraint(
            "(kind = 'CUSTOMER') = (category IS NOT NULL)", name="category_only_for_customers"
        ),
        Index("uq_directory_entries_person", "business_id", "person_id", unique=True),
        # Covering what a search filters on: a fragment matching much of the list is looked for
        # in name order in the index alone.
        Index(
            "ix_directory_entries_everyone",
            "business_id",
            "status",
            "name_key",
            "person_id",
            postgresql_include=["search_text", "number", *CATEGORY_COLUMNS],
        ),
        _list_index("primary", "kind = 'CUSTOMER' AND category = 'PRIMARY'"),
        _list_index("lead", "kind = 'CUSTOMER' AND category = 'LEAD'"),
        _list_index("app_user", "kind = 'CUSTOMER' AND category = 'APP_USER'"),
        _list_index("participant", "is_participant"),
        _list_index("additional_user", "kind = 'ADDITIONAL_USER'"),
        # Ordered access for 1- and 2-character terms (migration 0006): each index holds what
        # the category filter needs, so a search reads it alone.
        _prefix_index("first_prefix1", include=CATEGORY_COLUMNS),
        _prefix_index("first_prefix2", include=CATEGORY_COLUMNS),
        _prefix_index("extra_prefix1", include=["first_prefix1", *CATEGORY_COLUMNS]),
        _prefix_index("extra_prefix2", include=["first_prefix2", *CATEGORY_COLUMNS]),
        Index(
            "ix_directory_entries_more_words",
            "business_id",
            "status",
            "name_key",
            "person_id",
            postgresql_include=[
                "more_prefixes",
                "first_prefix1",
                "first_prefix2",
                "extra_prefix1",
                "extra_prefix2",
                *CATEGORY_COLUMNS,
            ],
            postgresql_where=text("cardinality(more_prefixes) > 0"),
        ),
        Index("ix_directory_entries_number", "business_id", "number"),
        Index("ix_directory_entries_customer", "business_id", "customer_id"),
        Index(
            "ix_directory_entries_search_trgm",
            "business_id",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    business_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("businesses.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    category: Mapped[str | None] = mapped_column(String(16))
    is_participant: Mapped[bool] = mapped_column(Boolean, nullable=False)
    number: Mapped[int | None] = mapped_column(BigInteger)
    first_name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    last_name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    email: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH))
    mobile: Mapped[str | None] = mapped_column(String(MOBILE_LENGTH))
    name_key: Mapped[str] = mapped_column(
        String, folded("last_name || ' ' || first_name"), nullable=False
    )
    first_key: Mapped[str] = mapped_column(String, folded("first_name"), nullable=False)
    last_key: Mapped[str] = mapped_column(String, folded("last_name"), nullable=False)
    search_text: Mapped[str] = mapped_column(
        String,
        folded(
            "first_name || ' ' || last_name || ' ' || coalesce(email, '') || ' ' || "
            + MOBILE_DIGITS
        ),
        nullable=False,
    )
    # Search keys for 1- and 2-character terms: the first name's first word, the name's first
    # further word, and the prefixes of any words after that.
    first_prefix1: Mapped[str] = mapped_column(
        String, Computed(f"left({FIRST_KEY}, 1)", persisted=True), nullable=False
    )
    first_prefix2: Mapped[str] = mapped_column(
        String, Computed(f"left({FIRST_KEY}, 2)", persisted=True), nullable=False
    )
    extra_prefix1: Mapped[str] = mapped_column(
        String, Computed(f"left({EXTRA_WORD}, 1)", persisted=True), nullable=False
    )
    extra_prefix2: Mapped[str] = mapped_column(
        String, Computed(f"left({EXTRA_WORD}, 2)", persisted=True), nullable=False
    )
    more_prefixes: Mapped[list[str]] = mapped_column(
        ARRAY(Text),
        Computed("directory_more_prefixes(first_name, last_name)", persisted=True),
        nullable=False,
    )


class DirectoryWord(Base):
    """A word of a directory entry's search text (one that has a letter), with what the list
    filters and sorts on (migration 0008): the people with a word, in name order, read from one
    index. A fragment of letters and digits is looked up through the words it is in. Kept by a
    trigger on `directory_entries` (added, rewritten and removed with the entry)."""

    __tablename__ = "directory_words"
    __table_args__ = (
        Index(
            "ix_directory_words_search",
            "business_id",
            "status",
            "word",
            "name_key",
            "person_id",
            postgresql_include=CATEGORY_COLUMNS,
        ),
    )

    business_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    word: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    name_key: Mapped[str] = mapped_column(String, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    category: Mapped[str | None] = mapped_column(String(16))
    is_participant: Mapped[bool] = mapped_column(Boolean, nullable=False)


class DirectoryVocabulary(Base):
    """A business's distinct directory words, where a fragment's words are found (LIKE through
    the trigram index). Words are added as people get them and never removed."""

    __tablename__ = "directory_vocabulary"
    __table_args__ = (
        Index(
            "ix_directory_vocabulary_word_trgm",
            "business_id",
            "word",
            postgresql_using="gin",
            postgresql_ops={"word": "gin_trgm_ops"},
        ),
    )

    business_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("businesses.id", ondelete="CASCADE"),
        primary_key=True,
    )
    word: Mapped[str] = mapped_column(Text, primary_key=True)


class DirectoryTally(Base):
    """How many people a tab and category of a business's list holds (migration 0010): the
    list's total without a search, read instead of counted. Kept by statement triggers on
    `directory_entries`, in the transaction of the edit."""

    __tablename__ = "directory_tallies"

    business_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("businesses.id", ondelete="CASCADE"),
        primary_key=True,
    )
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    people: Mapped[int] = mapped_column(BigInteger, nullable=False)
