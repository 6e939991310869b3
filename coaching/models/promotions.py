"""Promotion codes the owner hands out ("SPRING20": 20 % off until May, first 50 uses) and each use.

A code takes a percentage or a fixed amount off the price, is valid between two moments, may be
limited to a number of uses and to some session types and packages (none chosen: it applies to
everything, workshop seats included). Uses are
counted under the code's row lock in the transaction that spends it (services/promotions.py), so
the limit holds however many guests try at once. A use of an unpaid hold or checkout that lapses is
given back (`released_at`).
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from wagtail.search import index

from coaching.money import CURRENCY_CHOICES, format_money

from .bookings import Booking
from .packages import Package, PackageOrder, normalise_code


class PromotionCode(index.Indexed, models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", "Percentage off"
        AMOUNT = "amount", "Fixed amount off"

    code = models.CharField(
        max_length=40, unique=True, help_text="What guests type, e.g. SPRING20 (letters and digits; case is ignored)."
    )
    description = models.CharField(max_length=200, blank=True, help_text="For you; guests see only the code.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERCENT)
    percent_off = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(100)], help_text="1–100."
    )
    amount_off = models.PositiveIntegerField(
        null=True, blank=True, help_text="In minor units (pence/cents), in the currency below."
    )
    currency = models.CharField(
        max_length=3, choices=CURRENCY_CHOICES, default="GBP", help_text="Fixed amounts apply to prices in it only."
    )
    valid_from = models.DateTimeField(null=True, blank=True, help_text="Empty: valid now.")
    valid_until = models.DateTimeField(null=True, blank=True, help_text="Empty: never ends.")
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    session_types = models.ManyToManyField(
        "coaching.SessionType",
        blank=True,
        related_name="promotion_codes",
        help_text="Only for sessions of these types.",
    )
    packages = models.ManyToManyField(
        Package,
        blank=True,
        related_name="promotion_codes",
        help_text="Only for these packages. Leave both empty for a code valid on everything (workshops too).",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    search_fields = [index.SearchField("code"), index.AutocompleteField("code")]

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="percent", percent_off__gte=1, percent_off__lte=100) | Q(kind="amount", amount_off__gte=1)
                ),
                name="promotion_code_has_its_discount",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self):
        self.code = normalise_code(self.code)
        if not self.code:
            raise ValidationError({"code": "Please enter a code of letters and digits."})
        if self.kind == self.Kind.PERCENT and not self.percent_off:
            raise ValidationError({"percent_off": "Enter the percentage off (1–100)."})
        if self.kind == self.Kind.AMOUNT and not self.amount_off:
            raise ValidationError({"amount_off": "Enter the amount off."})
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValidationError({"valid_until": "The code must end after it starts."})

    @property
    def discount_display(self) -> str:
        if self.kind == self.Kind.PERCENT:
            return f"{self.percent_off}% off"
        return f"{format_money(self.amount_off or 0, self.currency)} off"

    def discount_on(self, amount: int, currency: str) -> int:
        """How much this code takes off `amount` (minor units): never more than the amount itself."""
        if self.kind == self.Kind.PERCENT:
            # Rounded down to the minor unit, so the guest never pays a fraction more than the percentage says.
            return min(amount, amount * (self.percent_off or 0) // 100)
        if currency.upper() != self.currency.upper():
            return 0
        return min(amount, self.amount_off or 0)


class PromotionRedemption(models.Model):
    """One use of a code: on a booking or on a package checkout, with the discount it gave."""

    wagtail_reference_index_ignore = True

    code = models.ForeignKey(PromotionCode, on_delete=models.PROTECT, related_name="redemptions")
    booking = models.OneToOneField(Booking, null=True, blank=True, on_delete=models.CASCADE, related_name="promotion")
    package_order = models.OneToOneField(
        PackageOrder, null=True, blank=True, on_delete=models.CASCADE, related_name="promotion"
    )
    discount_amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)
    # The hold or checkout it was used on lapsed unpaid: the use no longer counts toward the limit.
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(booking__isnull=False, package_order__isnull=True)
                    | Q(booking__isnull=True, package_order__isnull=False)
                ),
                name="promotion_redemption_booking_xor_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code.code} −{self.discount_display}"

    @property
    def discount_display(self) -> str:
        return format_money(self.discount_amount, self.currency)
