from django import template

register = template.Library()


@register.filter
def words(value) -> str:
    """``consent_revoked`` -> ``consent revoked``: codes read as words on a page."""
    return str(value or "").replace("_", " ")
