"""The category rule, as SQL: the same rule `refresh_customer_categories` applies (PRIMARY with
any category-making history, else LEAD when created by staff or a service, else APP_USER)."""

from __future__ import annotations

from models.history import CATEGORY_TABLES


def _has_history(alias: str) -> str:
    return " OR ".join(
        f"EXISTS (SELECT 1 FROM {table} h WHERE h.business_id = {alias}.business_id "
        f"AND h.customer_id = {alias}.id)"
        for table in CATEGORY_TABLES
    )


CATEGORY_RULE = f"""CASE WHEN {_has_history("c")} THEN 'PRIMARY'
    WHEN c.origin IN ('STAFF', 'SERVICE') THEN 'LEAD' ELSE 'APP_USER' END"""

# Customers of business $1 whose stored category the rule contradicts.
COUNT_WRONG = f"""SELECT count(*) FROM customers c
    WHERE c.business_id = $1 AND c.category <> ({CATEGORY_RULE})"""

# Store the rule's answer for business $1, touching only rows that change.
UPDATE_CATEGORIES = f"""UPDATE customers c SET category = derived.category
    FROM (SELECT c.id, {CATEGORY_RULE} AS category FROM customers c WHERE c.business_id = $1)
        AS derived
    WHERE c.business_id = $1 AND c.id = derived.id AND c.category <> derived.category"""
