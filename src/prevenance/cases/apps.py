from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _default_delegation_limits(sender, apps=None, **kwargs) -> None:
    try:
        if apps is not None:
            apps.get_model("cases", "DelegationLimit")
    except LookupError:
        return  # migrated back before the gestures existed
    # After migrate rather than in a data migration: the role groups are created after
    # migrate too, and a test database flush re-sends this signal, so the defaults come back.
    from prevenance.cases.services.gestures import ensure_default_limits  # noqa: PLC0415 - needs ready apps

    ensure_default_limits()


def _default_trust_thresholds(sender, apps=None, **kwargs) -> None:
    try:
        if apps is not None:
            apps.get_model("cases", "TrustThreshold")
    except LookupError:
        return  # migrated back before the thresholds existed (cases 0021)
    # Migration 0021 writes them on a new installation; a flush (`prevenance flush`, a test
    # database's) deletes them and re-sends this signal, which writes them again.
    from prevenance.cases.services.case_settings import ensure_default_trust_thresholds  # noqa: PLC0415 - needs ready apps

    ensure_default_trust_thresholds()


class CasesConfig(AppConfig):
    name = "prevenance.cases"
    label = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from prevenance.cases import checks  # noqa: F401, PLC0415 - registers the system checks

        post_migrate.connect(_default_delegation_limits, sender=self, dispatch_uid="prevenance-delegation-limits")
        post_migrate.connect(_default_trust_thresholds, sender=self, dispatch_uid="prevenance-trust-thresholds")
        from prevenance.cases.choices import AUTOMATIC_TIMELINE_PREFIX  # noqa: PLC0415
        from prevenance.cases.selectors.visibility import visible_case_refs  # noqa: PLC0415 - needs ready apps
        from prevenance.cases.services.common import (  # noqa: PLC0415
            REFERENCE_TYPE,
            TIMELINE_ID_PREFIX,
            localized_case_summary,
        )
        from prevenance.interactions.display import register_summary_localizer  # noqa: PLC0415
        from prevenance.interactions.services import reserve_external_id_prefix  # noqa: PLC0415
        from prevenance.interactions.visibility import register_ref_visibility  # noqa: PLC0415

        register_summary_localizer(localized_case_summary)
        # A case's messages on the customer's timeline: readable by whoever may see the case.
        register_ref_visibility(REFERENCE_TYPE, visible_case_refs)
        # The external ids of those entries and of automatic emails' are the intake's alone.
        reserve_external_id_prefix(TIMELINE_ID_PREFIX)
        reserve_external_id_prefix(AUTOMATIC_TIMELINE_PREFIX)
