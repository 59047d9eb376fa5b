"""Streamed CSV answers, for both faces: the console's exports and statements, the API's
history.csv. Rows are produced as the client reads them (memory stays flat)."""

from flask import Response, stream_with_context


def csv_response(chunks, filename: str) -> Response:
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
