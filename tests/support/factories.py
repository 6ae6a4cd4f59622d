import datetime as dt
import hashlib

import factory
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile

from core.models import Agency, User
from intake.models import CaseStatus, Evidence, SeizureCase
from intake.services import custody_wallet_register


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"agency-{n}")
    name = factory.LazyAttribute(lambda o: f"Agency {o.code}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or []:
            self.groups.add(Group.objects.get(name=role))
        self.save()


class CaseFactory(factory.django.DjangoModelFactory):
    """A case written straight to the table in a given state (for tests that start mid-flow;
    the flow itself is tested through the services)."""

    class Meta:
        model = SeizureCase

    agency = factory.SubFactory(AgencyFactory)
    case_number = factory.Sequence(lambda n: f"KZ-{n:05d}")
    status = CaseStatus.DRAFT
    warrant_number = factory.Sequence(lambda n: f"W-{n}")
    warrant_date = dt.date(2026, 1, 10)
    owner_name = "Suspect Name"
    filed_by = factory.SubFactory(UserFactory)


class EvidenceFactory(factory.django.DjangoModelFactory):
    """A document of a case written straight to the table (by default the warrant that its
    submission needs; kind=Evidence.Kind.COURT_ORDER with the content an order names)."""

    class Meta:
        model = Evidence
        exclude = ("content",)

    case = factory.SubFactory(CaseFactory)
    kind = Evidence.Kind.WARRANT
    content = factory.Sequence(lambda n: f"%PDF-1.4 document {n}".encode())
    file = factory.LazyAttribute(lambda o: ContentFile(o.content, name="document.pdf"))
    original_name = factory.LazyAttribute(lambda o: f"{o.kind.lower()}.pdf")
    content_type = "application/pdf"
    size = factory.LazyAttribute(lambda o: len(o.content))
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.content).hexdigest())
    uploaded_by = factory.LazyAttribute(lambda o: o.case.filed_by)


def make_custody_wallet(*, agency, admin, network="regtest", signers=("c1", "c2", "c3"), m=2):
    from tests.support.keys import key_expression

    return custody_wallet_register(actor=admin, agency=agency, network=network,
                                   label=f"{agency.code} custody", threshold=m,
                                   keys=[key_expression(s) for s in signers])
