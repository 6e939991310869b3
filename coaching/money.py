"""Money: integer minor units (pence, cents) plus an ISO 4217 code, never floats."""

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
