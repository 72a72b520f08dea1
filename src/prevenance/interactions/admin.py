from django.contrib import admin

from prevenance.interactions.models import Interaction


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "customer", "channel", "direction", "nature", "phase", "summary")
    list_filter = ("channel", "direction", "nature", "phase")
    raw_id_fields = ("customer", "agent", "order")
    date_hierarchy = "occurred_at"
    show_full_result_count = False
