"""`{% coach_packages coach %}`: the packages a coach sells, with a "Buy" button each (coach pages)."""

from django import template

from coaching.models import Package

register = template.Library()


@register.inclusion_tag("coaching/packages/coach_packages.html")
def coach_packages(coach):
    if coach is None or not coach.is_active:
        return {"packages": []}
    return {"packages": list(Package.objects.filter(coach=coach, is_active=True).select_related("coach"))}
