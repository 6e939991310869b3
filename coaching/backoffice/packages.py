"""The owner's packages and promotion codes: Package and PromotionCode snippets, the "Packages" menu
with the purchases list (credits used and left, expiry, paid and refunded) and checkouts, and one
purchase's screen: its bookings, its log, and the owner's "extend" and "adjust credits" forms.

Views parse and render; extending and adjusting are services/packages.py's, logged with who and why.
A coach sees the purchases of their own packages only.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_POST
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, ObjectList
from wagtail.admin.ui.tables import Column
from wagtail.snippets.views.snippets import SnippetViewSet
from wagtail_modeladmin.helpers import ButtonHelper
from wagtail_modeladmin.options import ModelAdmin, ModelAdminGroup

from coaching.exceptions import BookingError
from coaching.models import Package, PackageOrder, PackagePurchase, PromotionCode, PromotionRedemption
from coaching.money import format_money
from coaching.services.packages import adjust_credits, extend_purchase, refund_purchase
from coaching.services.payment import StripeRefused

from .bookings import BackOfficeMenuItem, ReadOnlyPermissionHelper
from .permissions import is_owner, require_back_office, visible_coaches


def visible_purchases(user):
    return PackagePurchase.objects.filter(package__coach__in=visible_coaches(user))


def visible_orders(user):
    return PackageOrder.objects.filter(package__coach__in=visible_coaches(user))


# --- snippets ------------------------------------------------------------------------------------


class PackageForm(WagtailAdminModelForm):
    """The session types a package covers must be offered by its coach."""

    def clean(self):
        cleaned = super().clean()
        coach, session_types = cleaned.get("coach"), cleaned.get("session_types")
        if coach is not None and session_types:
            offered = set(coach.session_types.values_list("pk", flat=True))
            others = [session_type.title for session_type in session_types if session_type.pk not in offered]
            if others:
                self.add_error("session_types", f"{coach.name} does not offer: {', '.join(others)}.")
        return cleaned


class PackageViewSet(SnippetViewSet):
    model = Package
    icon = "tag"
    menu_label = "Packages for sale"
    add_to_admin_menu = False
    list_display = ["title", "coach", "credits", "price_display", "validity_days", "is_active"]
    list_filter = ["coach", "is_active"]
    search_fields = ["title"]
    edit_handler = ObjectList(
        [
            MultiFieldPanel(
                [FieldPanel("title"), FieldPanel("slug"), FieldPanel("coach"), FieldPanel("summary")], "What"
            ),
            FieldPanel("session_types", widget=forms.CheckboxSelectMultiple),
            MultiFieldPanel(
                [
                    FieldPanel("credits"),
                    FieldRowPanel([FieldPanel("price_amount"), FieldPanel("currency")]),
                    FieldPanel("validity_days"),
                ],
                "Sessions and price",
            ),
            FieldPanel("is_active"),
        ],
        base_form_class=PackageForm,
    )

    def get_queryset(self, request):
        return Package.objects.filter(coach__in=visible_coaches(request.user)).select_related("coach")


class PromotionCodeViewSet(SnippetViewSet):
    model = PromotionCode
    icon = "tag"
    menu_label = "Promotion codes"
    add_to_admin_menu = False
    list_display = [
        "code",
        "discount_display",
        "valid_from",
        "valid_until",
        Column("uses", label="Used"),
        "max_uses",
        "is_active",
    ]
    list_filter = ["is_active", "kind"]
    search_fields = ["code", "description"]
    panels = [
        MultiFieldPanel([FieldPanel("code"), FieldPanel("description")], "Code"),
        MultiFieldPanel(
            [
                FieldPanel("kind"),
                FieldRowPanel([FieldPanel("percent_off"), FieldPanel("amount_off"), FieldPanel("currency")]),
            ],
            "Discount",
        ),
        MultiFieldPanel(
            [FieldRowPanel([FieldPanel("valid_from"), FieldPanel("valid_until")]), FieldPanel("max_uses")],
            "When and how often",
        ),
        FieldPanel("session_types", widget=forms.CheckboxSelectMultiple),
        FieldPanel("packages", widget=forms.CheckboxSelectMultiple),
        FieldPanel("is_active"),
    ]

    def get_queryset(self, request):
        return PromotionCode.objects.annotate(
            uses=Count("redemptions", filter=Q(redemptions__released_at__isnull=True))
        )


# --- purchases and checkouts (modeladmin) -----------------------------------------------------------


class PurchasePermissionHelper(ReadOnlyPermissionHelper):
    visible = staticmethod(visible_purchases)


class PurchaseButtonHelper(ButtonHelper):
    def get_buttons_for_obj(self, obj, exclude=None, classnames_add=None, classnames_exclude=None):
        return [
            {
                "url": reverse("coaching_admin:package_purchase", args=[obj.pk]),
                "label": "Bookings, log, extend, adjust",
                "classname": "button button-small button-secondary",
                "title": f"Package {obj.reference}",
            }
        ]


class PackagePurchaseAdmin(ModelAdmin):
    model = PackagePurchase
    menu_label = "Purchases"
    menu_icon = "tag"
    permission_helper_class = PurchasePermissionHelper
    button_helper_class = PurchaseButtonHelper
    list_display = [
        "reference",
        "buyer_name",
        "buyer_email",
        "package",
        "credits_used",
        "credits_left",
        "expires",
        "paid",
        "refunded",
        "state",
    ]
    list_filter = ["package", "expires_at"]
    search_fields = ["buyer_name", "buyer_email", "order__reference", "code"]
    list_select_related = ["package__coach", "order"]

    def get_queryset(self, request):
        return visible_purchases(request.user).select_related("package__coach", "order")

    @staticmethod
    def expires(obj):
        return timezone.localtime(obj.expires_at).strftime("%a %d %b %Y, %H:%M")

    @staticmethod
    def paid(obj):
        return format_money(obj.order.amount_paid, obj.order.currency)

    @staticmethod
    def refunded(obj):
        return format_money(obj.order.amount_refunded, obj.order.currency) if obj.order.amount_refunded else "—"

    @staticmethod
    def state(obj):
        return purchase_state(obj)


def purchase_state(purchase: PackagePurchase) -> str:
    if purchase.ended_at:
        return "Closed"
    if purchase.is_expired():
        return "Expired"
    if not purchase.credits_left:
        return "All used"
    return "Active"


class OrderPermissionHelper(ReadOnlyPermissionHelper):
    visible = staticmethod(visible_orders)


class PackageOrderAdmin(ModelAdmin):
    """Every checkout for a package, paid or not (a paid one has its purchase)."""

    model = PackageOrder
    menu_label = "Checkouts"
    menu_icon = "list-ul"
    inspect_view_enabled = True
    permission_helper_class = OrderPermissionHelper
    list_display = ["reference", "buyer_name", "buyer_email", "package", "status", "amount_due_display", "created_at"]
    list_filter = ["status", "package"]
    search_fields = ["reference", "buyer_name", "buyer_email"]
    list_select_related = ["package"]

    def get_queryset(self, request):
        return visible_orders(request.user).select_related("package")


class OwnerMenuItem(MenuItem):
    def is_shown(self, request):
        return is_owner(request.user)


class PackagesGroup(ModelAdminGroup):
    menu_label = "Packages"
    menu_icon = "tag"
    menu_order = 160
    items = (PackagePurchaseAdmin, PackageOrderAdmin)

    def get_submenu_items(self):
        items = super().get_submenu_items()
        order = len(items) + 1
        items.append(
            BackOfficeMenuItem(
                "Packages for sale",
                reverse_lazy("wagtailsnippets_coaching_package:list"),
                name="packages-for-sale",
                icon_name="tag",
                order=order,
            )
        )
        items.append(
            OwnerMenuItem(
                "Promotion codes",
                reverse_lazy("wagtailsnippets_coaching_promotioncode:list"),
                name="promotion-codes",
                icon_name="tag",
                order=order + 1,
            )
        )
        return items


# --- one purchase: its bookings, log, extend and adjust ---------------------------------------------


class ExtendForm(forms.Form):
    expires_at = forms.DateTimeField(label="New expiry", help_text="In your admin time zone.")
    reason = forms.CharField(label="Why (optional)", max_length=200, required=False)


class AdjustForm(forms.Form):
    delta = forms.IntegerField(label="Credits to add", help_text="A negative number takes credits away.")
    reason = forms.CharField(label="Why", max_length=200)


class RefundForm(forms.Form):
    amount = forms.IntegerField(label="Amount to refund", min_value=1, help_text="In minor units (pence/cents).")
    reason = forms.CharField(label="Why", max_length=200)


def _purchase(request, pk) -> PackagePurchase:
    require_back_office(request.user)
    return get_object_or_404(visible_purchases(request.user).select_related("package__coach", "order"), pk=pk)


def purchase_view(request, pk):
    purchase = _purchase(request, pk)
    return _render_purchase(request, purchase)


def _render_purchase(request, purchase, *, extend_form=None, adjust_form=None, refund_form=None, status=200):
    order = purchase.order
    context = {
        "refund_form": refund_form or RefundForm(initial={"amount": order.amount_paid - order.amount_refunded}),
        "refundable": order.amount_paid - order.amount_refunded,
        "refunded_display": format_money(order.amount_refunded, order.currency) if order.amount_refunded else "",
        "purchase": purchase,
        "state": purchase_state(purchase),
        "uses": purchase.credit_uses.select_related("booking").order_by("used_at"),
        "log": purchase.log_entries.select_related("actor_user"),
        "extend_form": extend_form or ExtendForm(initial={"expires_at": purchase.expires_at}),
        "adjust_form": adjust_form or AdjustForm(),
        "paid_display": format_money(purchase.order.amount_paid, purchase.order.currency),
        "promotion": PromotionRedemption.objects.filter(package_order=purchase.order).select_related("code").first(),
    }
    return TemplateResponse(request, "coaching/admin/package_purchase.html", context, status=status)


@require_POST
def extend_purchase_view(request, pk):
    purchase = _purchase(request, pk)
    form = ExtendForm(request.POST)
    if form.is_valid():
        try:
            extend_purchase(
                purchase=purchase,
                expires_at=form.cleaned_data["expires_at"],
                user=request.user,
                reason=form.cleaned_data["reason"],
            )
        except BookingError as refusal:
            form.add_error("expires_at", refusal.message)
        else:
            messages.success(
                request, f"Package {purchase.reference} now expires {form.cleaned_data['expires_at']:%d %b %Y}."
            )
            return redirect("coaching_admin:package_purchase", pk=purchase.pk)
    return _render_purchase(request, purchase, extend_form=form, status=400)


@require_POST
def adjust_credits_view(request, pk):
    purchase = _purchase(request, pk)
    form = AdjustForm(request.POST)
    if form.is_valid():
        try:
            adjust_credits(
                purchase=purchase,
                delta=form.cleaned_data["delta"],
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
        except BookingError as refusal:
            form.add_error("delta", refusal.message)
        else:
            messages.success(request, f"Credits of package {purchase.reference} adjusted.")
            return redirect("coaching_admin:package_purchase", pk=purchase.pk)
    return _render_purchase(request, purchase, adjust_form=form, status=400)


@require_POST
def refund_purchase_view(request, pk):
    """Close the package and refund (all or part of) its payment; only the owner."""
    purchase = _purchase(request, pk)
    if not is_owner(request.user):
        raise PermissionDenied
    form = RefundForm(request.POST)
    if form.is_valid():
        try:
            refund_purchase(
                purchase=purchase,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
        except BookingError as refusal:
            form.add_error("amount", refusal.message)
        except StripeRefused as refusal:
            form.add_error("amount", f"Stripe refused the refund: {refusal}. Refund it from the Stripe dashboard.")
        else:
            messages.success(request, f"Package {purchase.reference} closed and refunded.")
            return redirect("coaching_admin:package_purchase", pk=purchase.pk)
    purchase.refresh_from_db()
    return _render_purchase(request, purchase, refund_form=form, status=400)
