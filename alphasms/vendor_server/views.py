"""HTTP API of the vendor server (issue 7 protocol): update check, support-backup upload, deletion receipt.

Every answer is JSON; errors are ``{"error": "<one sentence naming the field or the fix>"}``. Views
parse the request and call a service; nothing here decides policy.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from alphasms.vendor_server.services import checks, publishing, support

log = logging.getLogger("alphasms.vendor_server")

#: Header carrying the case's upload token (from ``alphasms vendor case open``); never logged.
CASE_TOKEN_HEADER = "X-AlphaSMS-Case-Token"


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@require_POST
def update_check(request: HttpRequest) -> HttpResponse:
    """``POST /api/v1/update-check``: record the check (exactly four fields, 400 otherwise, nothing
    stored) and answer the current signed manifest (404 when none is published)."""
    try:
        body = checks.parse_check_body(request.body)
    except checks.CheckRejected as exc:
        return _error(str(exc), 400)
    check = checks.record_check(body, request.META.get("REMOTE_ADDR"))
    log.info("update check %s recorded", check.pk)  # ids only: names and numbers stay out of logs
    manifest = publishing.current_manifest()
    if manifest is None:
        return _error("no update manifest published yet (vendor: alphasms vendor manifest publish)", 404)
    return JsonResponse(manifest.envelope)


@require_POST
def support_backup(request: HttpRequest, case: str) -> HttpResponse:
    """``POST /api/v1/support/cases/<case>/backup``: store the age-encrypted body; 201 with its digest
    and ``delete_by``. Needs the case's upload token in ``X-AlphaSMS-Case-Token`` (404 "unknown case"
    otherwise, the same as for a case never opened)."""
    try:
        size_bytes = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _error("Content-Length is not a number", 400)
    licence_number = request.headers.get("X-AlphaSMS-Licence", "")
    token = request.headers.get(CASE_TOKEN_HEADER, "")
    try:
        held = support.receive_backup(case, request, size_bytes, licence_number, token)
    except support.SupportError as exc:
        return _error(str(exc), exc.status)
    log.info("support case %s: backup received, %d bytes", held.pk, held.size_bytes)
    return JsonResponse(support.held_answer(held), status=201)


@require_GET
def support_receipt(request: HttpRequest, case: str) -> HttpResponse:
    """``GET /api/v1/support/cases/<case>/receipt``: 404 unknown case; while held ``{"case", "status":
    "held", "delete_by"}``; once deleted the signed deletion receipt. A case past its retention is
    deleted now, so the answer never lags the promise of ``delete_by``. Needs the case's token in
    ``X-AlphaSMS-Case-Token``: without it (or with a wrong one) 404 "unknown case", so the receipt
    URL tells nobody else whether a case exists."""
    try:
        support.authorise(case, request.headers.get(CASE_TOKEN_HEADER, ""))
        support_case = support.expire_if_due(support.find_case(case))
    except support.SupportError as exc:
        return _error(str(exc), exc.status)
    if support_case.receipt is None:
        payload: dict[str, Any] = {
            "case": support_case.case,
            "status": "held",
            "delete_by": support.held_answer(support_case)["delete_by"],
        }
        return JsonResponse(payload)
    return JsonResponse(support_case.receipt)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(f"no such endpoint: {request.path}", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return _error("internal error of the vendor server; it is logged", 500)
