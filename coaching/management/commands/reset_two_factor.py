"""`manage.py reset_two_factor <username>`: turn off a user's two-factor sign-in (a lost phone).

The same as the owner's *Turn off* button on Settings → Sign-in security, for when the owner is the one
who lost their phone and cannot sign in. The user then signs in with their password alone and can turn
two-factor sign-in on again with the new phone.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Turn off two-factor sign-in for a user (removes their authenticator devices)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"No user {username!r}.") from None
        removed, _ = TOTPDevice.objects.filter(user=user).delete()
        if removed:
            self.stdout.write(f"Two-factor sign-in turned off for {username}: they sign in with their password alone.")
        else:
            self.stdout.write(f"{username} had no two-factor sign-in.")
