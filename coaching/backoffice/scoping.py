"""A coach reaches only their own rows on every URL of a snippet, not only in its list.

Wagtail's snippet views check model permissions; a coach's group may give those. The link from a
Coach record to the coach's login is the stronger statement (backoffice/permissions.py), so every
view that names one row answers 404 for a row outside the coach's reach.
"""

from django.contrib.admin.utils import unquote
from django.http import Http404

from coaching.models import Coach, SessionType, Workshop

from .permissions import coach_of


class OwnRowsOnly:
    """Every view of the snippet that names one row (edit, copy, delete, history, usage, inspect,
    revisions…) answers 404 for a row outside `scope(user)`, whatever the user's model permissions
    say — not even by typing another row's edit URL. The list is narrowed by get_queryset."""

    @staticmethod
    def scope(user):
        raise NotImplementedError

    def construct_view(self, view_class, **kwargs):
        viewset = self

        class Scoped(view_class):
            def dispatch(self, request, *args, **view_kwargs):
                pk = view_kwargs.get("pk")
                if pk is not None and not viewset.scope(request.user).filter(pk=unquote(str(pk))).exists():
                    raise Http404
                return super().dispatch(request, *args, **view_kwargs)

        Scoped.__name__ = Scoped.__qualname__ = view_class.__name__
        return super().construct_view(Scoped, **kwargs)


def coaches_in_reach(user):
    """A coach reaches only their own record; everyone else whatever their permissions allow."""
    own = coach_of(user)
    return Coach.objects.filter(pk=own.pk) if own else Coach.objects.all()


def workshops_in_reach(user):
    """A coach reaches only the workshops they host; everyone else whatever their permissions allow."""
    own = coach_of(user)
    return Workshop.objects.filter(host=own) if own else Workshop.objects.all()


def session_types_in_reach(user):
    """A coach reaches only the types they offer; everyone else whatever their permissions allow."""
    own = coach_of(user)
    return SessionType.objects.filter(coaches=own) if own else SessionType.objects.all()
