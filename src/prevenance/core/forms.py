"""What every app's forms share."""

from django.core.exceptions import ValidationError


class ServiceErrorsMixin:
    """Put a service's ValidationError on the form: on the field it names, else above the form
    (views parse input with a form; the service decides and raises)."""

    def add_service_errors(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, exc.messages)
