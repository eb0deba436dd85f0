from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from agencies.models import Agency, AgencyKind, Membership, Role

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"agency-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    kind = AgencyKind.NGO
    regions = factory.LazyFunction(lambda: ["metro"])
    services = factory.LazyFunction(lambda: ["shelter"])


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    agency = factory.SubFactory(AgencyFactory)
    role = Role.CASEWORKER


class SurvivorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "consent.Survivor"

    owner_agency = factory.SubFactory(AgencyFactory)
    given_name = factory.Sequence(lambda n: f"canary-given-{n}")
    created_by = factory.SubFactory(UserFactory)


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "coordination.Referral"
        skip_postgeneration_save = True

    survivor = factory.SubFactory(SurvivorFactory)
    referring_agency = factory.LazyAttribute(lambda o: o.survivor.owner_agency)
    needs = factory.LazyFunction(lambda: ["shelter"])
    urgency = "routine"
    created_by = factory.LazyAttribute(lambda o: o.survivor.created_by)

    @factory.post_generation
    def to(obj, create, extracted, **kwargs):
        from coordination.models import RecipientStatus

        for agency in extracted or ():
            RecipientStatus.objects.create(referral=obj, agency=agency)


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "consent.Consent"
        skip_postgeneration_save = True

    survivor = factory.SubFactory(SurvivorFactory)
    owner_agency = factory.LazyAttribute(lambda o: o.survivor.owner_agency)
    categories = factory.LazyFunction(lambda: ["identity"])
    purpose = "service_referral"
    method = "written"
    evidence_sha256 = "a" * 64
    language = "en"
    interpreter_used = False
    notice_version = "2026-01"
    services_not_conditional = True
    signed_by = "survivor"
    valid_from = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    expires_at = factory.LazyAttribute(lambda o: o.valid_from + timedelta(days=90))
    recorded_by = factory.LazyAttribute(lambda o: o.survivor.created_by)

    @factory.post_generation
    def recipients(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.recipients.set(extracted)
