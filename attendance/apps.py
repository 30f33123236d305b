from django.apps import AppConfig


class AttendanceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "attendance"

    def ready(self) -> None:
        from attendance import changes
        from attendance.engine.reference import connect_signals

        connect_signals()
        changes.connect()
