from django.apps import AppConfig


class BeaconsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "beacons"
