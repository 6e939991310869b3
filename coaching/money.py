"""Money: integer minor units (pence, cents) plus an ISO 4217 code, never floats."""

from decimal import Decimal, InvalidOperation

CURRENCY_CHOICES = [("GBP", "GBP £"), ("EUR", "EUR €"), ("USD", "USD $"), ("JPY", "JPY ¥")]
# Currencies without a minor unit (Stripe's "zero-decimal" currencies).
ZERO_DECIMAL_CURRENCIES = {"JPY"}
SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥"}


def format_money(amount_minor: int, currency: str) -> str:
    """'£60.00', '¥5,000', or 'Free' for nothing."""
    if not amount_minor:
        return "Free"
    symbol = SYMBOLS.get(currency, currency + " ")
    if currency in ZERO_DECIMAL_CURRENCIES:
        return f"{symbol}{amount_minor:,}"
    return f"{symbol}{amount_minor // 100:,}.{amount_minor % 100:02d}"


def minor_units_per_major(currency: str) -> int:
    return 1 if currency in ZERO_DECIMAL_CURRENCIES else 100


def to_minor_units(amount: Decimal | str, currency: str) -> int:
    """An amount as people type it ('30', '30.5', '1,234.50' pounds; '5000' yen) in minor units.

    Raises ValueError for something that is not an amount, a negative one, or one finer than the
    currency's smallest coin ('30.555' pounds, '10.5' yen)."""
    try:
        value = Decimal(str(amount).replace(",", "").strip())
    except InvalidOperation:
        raise ValueError("Enter an amount such as 30 or 30.50.") from None
    if not value.is_finite() or value < 0:
        raise ValueError("Enter an amount of zero or more.")
    minor = value * minor_units_per_major(currency)
    if minor != minor.to_integral_value():
        smallest = "whole yen" if currency in ZERO_DECIMAL_CURRENCIES else "pence/cents (two decimals)"
        raise ValueError(f"{currency} amounts go down to {smallest} only.")
    return int(minor)


def to_major_units(amount_minor: int, currency: str) -> Decimal:
    """Minor units back to what people read and type: 3050 → Decimal('30.50')."""
    if currency in ZERO_DECIMAL_CURRENCIES:
        return Decimal(amount_minor)
    return (Decimal(amount_minor) / 100).quantize(Decimal("0.01"))
