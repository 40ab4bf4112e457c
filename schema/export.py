"""`peopleExport`: a CSV of the registration and payment history of a selection, as a signed,
expiring download link. Staff only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers.export import ExportFilter, export_link
from schema.customer_mutations import SelectionArg, parse_selection
from schema.errors import UserError
from schema.permissions import IsStaff
from server.context import Context


@strawberry.type(description="A link to download a file, valid for a short time.")
class DownloadLink:
    url: str = strawberry.field(
        description="Where to GET the file. The link is the credential: whoever holds it may "
        "download the file until it expires, so open it, don't share it."
    )
    expires_at: datetime = strawberry.field(
        description="When the link stops working (15 minutes after it was made)."
    )


@strawberry.type(description="The result of asking for a CSV export.")
class PeopleExportPayload:
    link: DownloadLink | None = strawberry.field(
        description="The download link; null when the request was refused."
    )
    errors: list[UserError] = strawberry.field(description="Empty on success.")


ExcelArg = Annotated[
    bool,
    strawberry.argument(
        description="For Excel: UTF-8 with a byte-order mark, CRLF line ends, and times as the "
        "business's local wall-clock time (which spreadsheets read as date-times)."
    ),
]


@strawberry.type(description="CSV exports.")
class ExportMutations:
    @strawberry.mutation(
        description="A CSV of the registration and payment history of the selected people: "
        "one line per booking, appointment, pass, video, subscription and payment (with its "
        "refunded amount) of their accounts (a participant or additional user stands for "
        "their customer's account), with the customer, participant, dates in the business's "
        "time zone, amounts and states. Answers a signed link, valid 15 minutes, that streams "
        "the file (a whole tab works); it stops working early if the staff member's tokens are "
        "revoked. A filter is applied when the file is downloaded. Staff only.",
        permission_classes=[IsStaff],
    )
    async def people_export(
        self,
        info: Info[Context, Any],
        selection: SelectionArg,
        excel_friendly: ExcelArg = False,
    ) -> PeopleExportPayload:
        viewer = info.context.viewer
        assert viewer is not None
        selected = parse_selection(selection)
        chosen = None
        if selected.filter is not None:
            chosen = ExportFilter(
                selected.filter.status, selected.filter.category, selected.raw_search
            )
        link, errors = await export_link(
            info.context.reader,
            info.context.settings,
            viewer,
            selected.ids,
            chosen,
            excel_friendly,
        )
        if link is None:
            return PeopleExportPayload(link=None, errors=errors)
        return PeopleExportPayload(
            link=DownloadLink(url=link.url, expires_at=link.expires_at), errors=[]
        )
