"""CSV out of row generators: line by line, never the whole file in memory."""

import csv

from django.http import StreamingHttpResponse


class _Echo:
    """A file that hands back what is written, so csv.writer yields one line at a time."""

    def write(self, value):
        return value


def csv_lines(rows):
    """Each row (a list of values) as one CSV line."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(row)


def streaming_csv_response(rows, *, filename, content_type="text/csv; charset=utf-8"):
    """rows streamed to the client as an attachment; the rows are read as they are sent."""
    response = StreamingHttpResponse(csv_lines(rows), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
