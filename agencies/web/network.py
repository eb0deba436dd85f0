"""Network admin and agency admin pages: the agencies of the network (create, edit,
suspend, reinstate, their admins), an agency's own profile, and invitations. Every change goes
through ``agencies.network`` / ``agencies.invitations`` (which audit it)."""

from __future__ import annotations

from django import forms
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from agencies import invitations, network, selectors
from agencies.errors import Conflict, InvalidInput
from agencies.models import TIME_ZONES, AgencyKind, Need, Role
from agencies.routes import route
from agencies.web.pages import change_flashed, form_carried_out, member_page, paginate


class ListField(forms.CharField):
    """A comma-separated list of short values (regions, languages)."""

    def __init__(self, *, item_length: int, **kwargs):
        self.item_length = item_length
        super().__init__(required=False, max_length=2000, **kwargs)

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        items = [item.strip() for item in (super().to_python(value) or "").split(",")]
        items = list(dict.fromkeys(item for item in items if item))
        if any(len(item) > self.item_length for item in items):
            raise forms.ValidationError(f"Each item has at most {self.item_length} characters.")
        return items


class ProfileForm(forms.Form):
    services = forms.MultipleChoiceField(
        choices=Need.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    regions = ListField(item_length=100, help_text="Comma-separated, e.g. metro, north.")
    languages = ListField(item_length=35, help_text="Comma-separated codes, e.g. en, es.")
    accepting_referrals = forms.BooleanField(required=False, label="Accepting referrals now")
    capacity_note = forms.CharField(max_length=500, required=False, label="Capacity note")
    hours_start = forms.TimeField(
        required=False,
        label="Working hours from",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Reads outside your hours raise an access alert. Leave both empty: no hours.",
    )
    hours_end = forms.TimeField(
        required=False,
        label="Working hours until",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Earlier than the start: the hours run overnight.",
    )
    timezone = forms.ChoiceField(
        choices=[(zone, zone) for zone in TIME_ZONES], label="Time zone", required=False
    )

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("timezone"):
            cleaned.pop("timezone", None)  # not sent: the agency keeps its time zone
        return cleaned


class AgencyForm(ProfileForm):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=AgencyKind.choices)
    field_order = ["name", "kind"]


class AgencyCreateForm(AgencyForm):
    slug = forms.SlugField(max_length=64)
    field_order = ["name", "slug", "kind"]


class InvitationForm(forms.Form):
    agency = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    role = forms.ChoiceField(choices=Role.choices)
    username = forms.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    email = forms.EmailField(max_length=254)


def _profile_of(agency) -> dict:
    return {name: getattr(agency, name) for name in ("name", "kind", *network.PROFILE_FIELDS)}


@route("network/agencies/", name="network-agencies")
@require_http_methods(["GET", "HEAD", "POST"])
@member_page(Role.NETWORK_ADMIN)
def agencies(request):
    """Every agency, suspended ones included (audited ``list``), and the form to add
    one."""
    member = request.member
    form = AgencyCreateForm(
        request.POST or None, initial={"accepting_referrals": True, "timezone": "UTC"}
    )
    if request.method == "POST":
        agency = form_carried_out(
            request,
            form,
            lambda data: network.agency_create(actor=member, **data),
            lambda agency: f"{agency.name} added. Invite its first admin.",
        )
        if agency is not None:
            return redirect("web:network-agency", agency_id=agency.pk)
        return render(request, "web/network_agencies.html", {"form": form, "rows": None}, 400)
    with transaction.atomic():
        page, following = paginate(request, network.agencies_administered(member))
        rows = selectors.agencies_shown(member, page)
    context = {"form": form, "rows": rows, "following": following}
    return render(request, "web/network_agencies.html", context)


def _edit(request, agency_id, form_class, template):
    member = request.member
    if request.method == "POST":
        form = form_class(request.POST)
        if form_carried_out(
            request,
            form,
            lambda data: network.agency_update(actor=member, agency_id=agency_id, changes=data),
            lambda agency: f"{agency.name} saved.",
            refusals=(InvalidInput, Conflict),
        ):
            return redirect(request.path)
        return render(request, template, {"form": form, "agency": None}, status=400)
    with transaction.atomic():
        agency = network.agency_shown(member, agency_id)
    form = form_class(initial=_profile_of(agency))
    return render(request, template, {"form": form, "agency": agency})


@route("network/agencies/<int:agency_id>/", name="network-agency")
@require_http_methods(["GET", "HEAD", "POST"])
@member_page(Role.NETWORK_ADMIN)
def agency(request, agency_id):
    """One agency: its details and profile (audited ``view``), suspension, and the link
    to invite its admins."""
    return _edit(request, agency_id, AgencyForm, "web/network_agency.html")


@route("network/agencies/<int:agency_id>/admins/", name="network-agency-admins")
@require_http_methods(["GET", "HEAD"])
@member_page(Role.NETWORK_ADMIN)
def agency_admins(request, agency_id):
    """An agency's admins, each with a button to reset a lost second factor (audited
    ``list``)."""
    with transaction.atomic():
        agency, rows = selectors.agency_admins_shown(request.member, agency_id)
    return render(request, "web/network_agency_admins.html", {"agency": agency, "rows": rows})


@route("agency/profile/", name="agency-profile")
@require_http_methods(["GET", "HEAD", "POST"])
@member_page(Role.AGENCY_ADMIN)
def profile(request):
    """The agency admin's own agency profile: services, regions, languages, accepting
    referrals, capacity note."""
    return _edit(request, request.member.agency_id, ProfileForm, "web/agency_profile.html")


def _agency_change_page(change, done: str):
    """A network admin's POST that changes one agency (``change``, a service) and then
    says ``done`` (``{name}`` is the agency's) or why not, back on the agency's page."""

    @require_POST
    @member_page(Role.NETWORK_ADMIN)
    def page(request, agency_id):
        change_flashed(
            request,
            lambda: change(actor=request.member, agency_id=agency_id),
            lambda agency: done.format(name=agency.name),
        )
        return redirect("web:network-agency", agency_id=agency_id)

    page.__name__ = page.__qualname__ = change.__name__
    return page


agency_suspend = _agency_change_page(
    network.agency_suspend, "{name} suspended; its members are signed out."
)
agency_reinstate = _agency_change_page(network.agency_reinstate, "{name} reinstated.")
route("network/agencies/<int:agency_id>/suspend/", name="network-agency-suspend")(agency_suspend)
route("network/agencies/<int:agency_id>/reinstate/", name="network-agency-reinstate")(
    agency_reinstate
)


@route("invite/", name="invitation-new")
@require_http_methods(["GET", "HEAD", "POST"])
@member_page(Role.NETWORK_ADMIN, Role.AGENCY_ADMIN)
def invitation_new(request):
    """Invite someone: a network admin names the agency (``?agency=``, from its page),
    an agency admin invites into their own. The link goes only by email."""
    member = request.member
    own = member.role == Role.AGENCY_ADMIN
    initial = {"agency": member.agency_id if own else request.GET.get("agency", "")}
    form = InvitationForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form_carried_out(
            request,
            form,
            lambda data: invitations.invitation_create(
                actor=member,
                agency_id=member.agency_id if own else data["agency"],
                role=data["role"],
                username=data["username"],
                email=data["email"],
            ),
            lambda invitation: f"Invitation emailed to {invitation.username}.",
        ):
            return redirect(request.get_full_path())
        return render(request, "web/invitation_new.html", {"form": form}, status=400)
    return render(request, "web/invitation_new.html", {"form": form})
