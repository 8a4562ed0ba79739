"""Build admin POST data the way a browser would: from the rendered add/change page."""

from datetime import UTC, date, datetime, time

from django.forms.widgets import CheckboxInput, MultiWidget, NullBooleanSelect


def _text(value):
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    return str(value)


def _form_values(form, data):
    for bound in form:
        value = bound.value()
        widget = bound.field.widget
        widget = getattr(widget, "widget", widget)  # RelatedFieldWidgetWrapper
        if isinstance(widget, MultiWidget):
            parts = value if isinstance(value, (list, tuple)) else widget.decompress(value)
            for i, part in enumerate(parts):
                data[f"{bound.html_name}_{i}"] = _text(part)
        elif isinstance(widget, NullBooleanSelect):
            data[bound.html_name] = {True: "true", False: "false"}.get(value, "unknown")
        elif isinstance(widget, CheckboxInput):
            if value:
                data[bound.html_name] = "on"
        else:
            data[bound.html_name] = _text(value)


def page_data(response):
    """The POST data of the rendered page, unchanged: the main form and every existing inline
    row, with the management forms (extra blank rows left out)."""
    data = {}
    _form_values(response.context["adminform"].form, data)
    for inline in response.context["inline_admin_formsets"]:
        _formset_values(inline.formset, data)
    return data


def _formset_values(formset, data):
    """A formset's management form and existing rows, and the formsets nested in its rows
    (django-nested-admin: a rule's milestone triggers)."""
    initial = formset.initial_form_count()
    data[f"{formset.prefix}-TOTAL_FORMS"] = str(initial)
    data[f"{formset.prefix}-INITIAL_FORMS"] = str(initial)
    data[f"{formset.prefix}-MIN_NUM_FORMS"] = "0"
    data[f"{formset.prefix}-MAX_NUM_FORMS"] = "1000"
    for form in formset.forms[:initial]:
        _form_values(form, data)
        for nested in getattr(form, "nested_formsets", []):
            _formset_values(nested, data)


def nested_prefixes(row_prefix):
    """The prefixes of the formsets nested in a row of the group page (a rule's triggers)."""
    return [f"{row_prefix}-triggers"] if row_prefix.startswith("rules-") else []


def put(data, name, value):
    """Set a field as a browser sends it (datetimes split in date and time, in UTC)."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
        data[f"{name}_0"] = value.date().isoformat()
        data[f"{name}_1"] = value.strftime("%H:%M:%S")
    elif value is True:
        data[name] = "on"
    elif value is False:
        data.pop(name, None)
    else:
        data[name] = _text(value)


def add_row(data, prefix, **values):
    """Append an inline row (with empty management forms for what nests in it, as the page's
    script adds them); returns its index."""
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    for key, value in values.items():
        put(data, f"{prefix}-{index}-{key}", value)
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
    for nested in nested_prefixes(f"{prefix}-{index}"):
        if f"{nested}-TOTAL_FORMS" not in data:
            data[f"{nested}-TOTAL_FORMS"] = "0"
            data[f"{nested}-INITIAL_FORMS"] = "0"
            data[f"{nested}-MIN_NUM_FORMS"] = "0"
            data[f"{nested}-MAX_NUM_FORMS"] = "1000"
    return index


def row_of(data, prefix, field, value):
    """The index of the existing row whose `field` has `value`."""
    total = int(data[f"{prefix}-TOTAL_FORMS"])
    for i in range(total):
        if data.get(f"{prefix}-{i}-{field}") == str(value):
            return i
    raise KeyError(f"no {prefix} row with {field}={value}")


def inline(response, prefix):
    for admin_formset in response.context["inline_admin_formsets"]:
        if admin_formset.formset.prefix == prefix:
            return admin_formset.formset
    raise KeyError(prefix)


def all_errors(response):
    """Every error message on the page: main form, inline non-form errors and rows."""
    out = []
    form = response.context["adminform"].form
    for messages in form.errors.values():
        out += list(messages)
    for admin_formset in response.context["inline_admin_formsets"]:
        out += _formset_errors(admin_formset.formset)
    return out


def _formset_errors(formset):
    out = list(formset.non_form_errors())
    for row in formset.forms:
        for messages in row.errors.values():
            out += list(messages)
        for nested in getattr(row, "nested_formsets", []):
            out += _formset_errors(nested)
    return out
