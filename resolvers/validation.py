"""Input rules shared by every mutation that takes people's details: names, email, mobile and
passwords. Each check returns a `UserError` (code, input path, a sentence) or the clean value."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers

from schema.errors import ErrorCode, UserError, user_error

NAME_MAX = 100
EMAIL_MAX = 320
PASSWORD_MIN = 8
PASSWORD_MAX = 128

# Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is proven by the
# emails we send, not by a regular expression.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Base words behind most leaked passwords; a password whose letters reduce to one of them (after
# undoing digit and symbol substitutions) is refused even when it meets the character rules.
COMMON_WORDS = frozenset(
    """
    password passw0rd pass letmein welcome qwerty qwertyuiop asdfgh asdfghjkl zxcvbnm admin
    administrator login iloveyou monkey dragon football baseball basketball soccer hockey
    sunshine princess shadow master superman batman starwars pokemon michael jennifer jordan
    hunter trustno abc abcdef abcdefg secret summer winter spring autumn freedom whatever
    charlie liverpool chelsea arsenal computer internet samsung google changeme default
    hello test tester guest root user access flower cheese cookie chocolate mustang ferrari
    killer ninja lovely loveme angel family friends yankees cowboys tigger ginger buster
    pepper maggie daisy bailey orange banana apple matrix mercedes london paris
    """.split()
)
_LEET = str.maketrans(
    {
        "@": "a",
        "4": "a",
        "0": "o",
        "1": "i",
        "!": "i",
        "3": "e",
        "$": "s",
        "5": "s",
        "7": "t",
        "+": "t",
        "9": "g",
        "8": "b",
    }
)


@dataclass(frozen=True)
class Checked:
    """The outcome of checking a set of fields: clean values and the problems found."""

    errors: list[UserError]

    def add(self, field: str, code: ErrorCode, message: str) -> None:
        self.errors.append(user_error(code, field, message))


def _has_control_characters(value: str) -> bool:
    return any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} for ch in value)


def clean_name(value: str, field: str, label: str, errors: list[UserError]) -> str:
    name = " ".join(value.split())
    if not name:
        errors.append(user_error(ErrorCode.REQUIRED, field, f"Enter a {label}."))
    elif len(name) > NAME_MAX:
        errors.append(
            user_error(
                ErrorCode.TOO_LONG, field, f"The {label} is limited to {NAME_MAX} characters."
            )
        )
    elif _has_control_characters(name):
        errors.append(
            user_error(
                ErrorCode.INVALID, field, f"The {label} contains characters that cannot be shown."
            )
        )
    return name


def clean_email(value: str, field: str, errors: list[UserError]) -> str:
    email = value.strip()
    if not email:
        errors.append(user_error(ErrorCode.REQUIRED, field, "Enter an email address."))
    elif len(email) > EMAIL_MAX:
        errors.append(
            user_error(
                ErrorCode.TOO_LONG, field, f"The email is limited to {EMAIL_MAX} characters."
            )
        )
    elif _has_control_characters(email) or not _EMAIL.match(email):
        errors.append(
            user_error(ErrorCode.INVALID, field, "Enter an email address like name@example.com.")
        )
    return email


def email_key(email: str) -> str:
    """The case-insensitive form the login-email namespace is keyed by."""
    return email.strip().lower()


def clean_mobile(value: str | None, region: str, field: str, errors: list[UserError]) -> str | None:
    """A mobile number in E.164; the business's country is the default region, so local numbers
    ("07700 900123" in GB) work as well as international ones ("+44 7700 900123")."""
    if value is None or not value.strip():
        return None
    if len(value) > 40 or _has_control_characters(value):
        errors.append(
            user_error(ErrorCode.INVALID, field, "Enter a mobile number with its country code.")
        )
        return None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        errors.append(
            user_error(
                ErrorCode.INVALID,
                field,
                "This is not a phone number: include the country code, e.g. +44 7700 900123.",
            )
        )
        return None
    if not phonenumbers.is_possible_number(number):
        errors.append(
            user_error(
                ErrorCode.INVALID,
                field,
                "This phone number has the wrong number of digits for its country.",
            )
        )
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def password_problems(password: str) -> list[str]:
    """Every way the password misses the product's rule (empty when it passes)."""
    problems: list[str] = []
    if len(password) < PASSWORD_MIN:
        problems.append(f"at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        problems.append(f"at most {PASSWORD_MAX} characters")
    if not any(ch.isupper() for ch in password):
        problems.append("an uppercase letter")
    if not any(ch.islower() for ch in password):
        problems.append("a lowercase letter")
    if not any(ch.isdigit() for ch in password):
        problems.append("a number")
    if not any(not ch.isalnum() and not ch.isspace() for ch in password):
        problems.append("a special character")
    return problems


def is_common_password(password: str) -> bool:
    """A common word dressed up with capitals, digits and symbols ("P@ssw0rd123!",
    "Welcome2024!") is still a common password: the word must not make up almost all of the
    letters, read plainly or with digit/symbol substitutions undone."""
    plain = re.sub(r"[^a-z]", "", password.lower())
    unleeted = re.sub(r"[^a-z]", "", password.lower().translate(_LEET))
    for letters in (plain, unleeted):
        if len(set(letters)) <= 2:
            return True
        if any(word in letters and len(letters) - len(word) <= 3 for word in COMMON_WORDS):
            return True
    return False


def check_password(password: str, field: str, errors: list[UserError]) -> None:
    problems = password_problems(password)
    if problems:
        code = ErrorCode.TOO_LONG if len(password) > PASSWORD_MAX else ErrorCode.INVALID
        errors.append(user_error(code, field, "The password needs " + ", ".join(problems) + "."))
    elif is_common_password(password):
        errors.append(
            user_error(
                ErrorCode.INVALID,
                field,
                "This password is too common: choose one that is harder to guess.",
            )
        )
