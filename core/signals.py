"""Audit events for logins, admin changes and role changes (DESIGN §6)."""

from axes.signals import user_locked_out
from django.contrib.admin.models import LogEntry
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from .audit import CoreAction, record_event
from .models import User
from .services import GRANTING_FLAG


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    with transaction.atomic():
        record_event(actor=user, action=CoreAction.LOGIN, obj=user,
                     after={"ip": request.META.get("REMOTE_ADDR") if request else None})


@receiver(user_locked_out)
def audit_lockout(sender, request=None, username=None, ip_address=None, **kwargs):
    """A lockout is recorded in the chain (rare); each failed password only in django-axes'
    own tables, so a password-guessing storm never queues on the audit chain's head."""
    with transaction.atomic():
        record_event(actor=None, action=CoreAction.LOCKED_OUT, object_type="core.user",
                     object_id=str(username or "")[:64], after={"ip": ip_address})


@receiver(post_save, sender=LogEntry)
def audit_admin_change(sender, instance, created, **kwargs):
    if not created:
        return
    action = {1: CoreAction.ADMIN_ADD, 2: CoreAction.ADMIN_CHANGE,
              3: CoreAction.ADMIN_DELETE}.get(instance.action_flag, CoreAction.ADMIN_OTHER)
    with transaction.atomic():
        record_event(
            actor=instance.user, action=action,
            object_type=instance.content_type.model_class()._meta.label_lower
            if instance.content_type and instance.content_type.model_class() else "",
            object_id=str(instance.object_id or "")[:64],
            after={"repr": instance.object_repr, "message": instance.get_change_message()},
        )


@receiver(m2m_changed, sender=User.groups.through)
def audit_role_change(sender, instance, action, pk_set, **kwargs):
    """A tripwire: roles change only through core.services (which audits the grant with
    who asked and who approved); a change made any other way (a shell, raw SQL aside) is
    still recorded, with no actor."""
    if action not in ("post_add", "post_remove", "post_clear") or not isinstance(instance, User):
        return
    if getattr(instance, GRANTING_FLAG, False):
        return
    with transaction.atomic():
        record_event(actor=None, action=CoreAction.ROLES_CHANGED, obj=instance,
                     after={"change": action, "roles": instance.role_names})
