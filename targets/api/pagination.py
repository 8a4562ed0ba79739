"""Paging of the configuration list (GET /v3/targetGroups) in the documented envelope:
`{"data": [...], "errors": null, "warnings": null, "pagination": {page, pageSize, totalCount,
totalPages}}`. `page` and `pageSize` are validated by the view's FilterSet (a bad value is a 400
before paging); a page past the end is an empty `data`, not an error."""

from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from config.exceptions import envelope
from targets.api.config_filters import DEFAULT_PAGE_SIZE


class EnvelopePagination(BasePagination):
    def paginate_queryset(self, queryset, request, view=None):
        """One page of `queryset` (ordered by the caller); the page and its size come from the
        view's validated parameters (`view.paging`: (page, size))."""
        self.page, self.size = getattr(view, "paging", (1, DEFAULT_PAGE_SIZE))
        self.total = queryset.count()
        return list(queryset[(self.page - 1) * self.size : self.page * self.size])

    def get_paginated_response(self, data):
        return Response(
            {
                **envelope(None, data=data),
                "pagination": {
                    "page": self.page,
                    "pageSize": self.size,
                    "totalCount": self.total,
                    "totalPages": (self.total + self.size - 1) // self.size,
                },
            }
        )
