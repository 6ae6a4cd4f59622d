"""Exports of intake, as row generators (header first) for core.api.exports."""

CASE_COLUMNS = ["id", "agency", "case_number", "status", "warrant_number", "warrant_date",
                "owner_name", "custody_address", "assets", "declared_amounts", "created_at"]


def case_rows(cases):
    """The header, then one row per case of the queryset cases (from case_list_for_user,
    so the export shows exactly what the list shows), read from the database in chunks."""
    yield CASE_COLUMNS
    for case in cases.prefetch_related("assets").iterator(chunk_size=500):
        assets = list(case.assets.all())
        yield [
            case.public_id, case.agency.code, case.case_number, case.status,
            case.warrant_number, case.warrant_date, case.owner_name, case.custody_address,
            ";".join(f"{a.asset}/{a.network}" for a in assets),
            ";".join(str(a.declared_amount) for a in assets), case.created_at.isoformat(),
        ]
