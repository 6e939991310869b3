"""A small local HTTP server that speaks the parts of Stripe's API the project uses, so the real
`stripe` SDK code path runs in tests (the SDK is pointed at it with STRIPE_API_BASE).

Speaks: POST /v1/checkout/sessions, GET /v1/checkout/sessions/{id},
POST /v1/checkout/sessions/{id}/expire, POST /v1/refunds. Honours Idempotency-Key like Stripe
(same key + same parameters → the first answer again; same key + other parameters → 400).
Records every request. Can be told to answer 5xx (before or after doing the work, as when a
response is lost on the way back), to answer slowly, or to hang, for outage and timeout tests.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict
    idempotency_key: str | None
    status: int = 0


@dataclass
class _Fault:
    status: int | None = None  # answer this status
    after_processing: bool = False  # do the work first, then answer the error (a lost response)
    hang: bool = False  # never answer (until the stand-in stops)
    delay: float = 0  # answer normally, but only after this many seconds (a slow Stripe)


def parse_form(body: str) -> dict:
    """Decode Stripe's form encoding (`line_items[0][price_data][unit_amount]=…`) into nested data."""
    root: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _listify(root)


def _listify(node):
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_listify(node[k]) for k in sorted(node, key=int)]
        return {k: _listify(v) for k, v in node.items()}
    return node


@dataclass
class StripeStandIn:
    requests: list[RecordedRequest] = field(default_factory=list)
    sessions: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._idempotent: dict[str, tuple[str, dict, int, dict]] = {}
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        # Set when a refund request arrives (before any delay), so a test can act while it is in flight.
        self.refund_arrived = threading.Event()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                standin._handle(self, "GET")

            def do_POST(self):
                standin._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- control ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StripeStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, times: int = 1, *, status: int = 500, after_processing: bool = False) -> None:
        with self._lock:
            self._faults.extend(_Fault(status=status, after_processing=after_processing) for _ in range(times))

    def delay_next(self, seconds: float, times: int = 1) -> None:
        with self._lock:
            self._faults.extend(_Fault(delay=seconds) for _ in range(times))

    def hang_next(self, times: int = 1) -> None:
        with self._lock:
            self._faults.extend(_Fault(hang=True) for _ in range(times))

    def requests_to(self, method: str, path_pattern: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and re.fullmatch(path_pattern, r.path)]

    def pay_session(self, session_id: str, *, payment_intent: str = "pi_standin_1") -> dict:
        """What Stripe does when the guest pays: the session completes with a payment intent."""
        session = self.sessions[session_id]
        session.update(status="complete", payment_status="paid", payment_intent=payment_intent)
        return session

    # --- serving ---------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        path = handler.path.split("?", 1)[0]
        params = parse_form(body) if method == "POST" else {}
        key = handler.headers.get("Idempotency-Key")
        record = RecordedRequest(method=method, path=path, params=params, idempotency_key=key)
        with self._lock:
            self.requests.append(record)
            fault = self._faults.pop(0) if self._faults else None
        if path == "/v1/refunds":
            self.refund_arrived.set()
        if fault and fault.delay:
            self._stopping.wait(fault.delay)
            fault = None
        if fault and fault.hang:
            self._stopping.wait(30)
            return
        if fault and not fault.after_processing:
            record.status = fault.status
            self._send(handler, fault.status, _error("api_error", "Stand-in outage."))
            return
        status, payload = self._answer(method, path, params, key)
        if fault:
            record.status = fault.status
            self._send(handler, fault.status, _error("api_error", "Stand-in lost the response."))
            return
        record.status = status
        self._send(handler, status, payload)

    def _answer(self, method: str, path: str, params: dict, key: str | None) -> tuple[int, dict]:
        with self._lock:
            if key and method == "POST":
                seen = self._idempotent.get(key)
                if seen is not None:
                    seen_path, seen_params, status, payload = seen
                    if (seen_path, seen_params) != (path, params):
                        return 400, _error(
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                        )
                    return status, payload
            status, payload = self._route(method, path, params)
            if key and method == "POST":
                self._idempotent[key] = (path, params, status, payload)
            return status, payload

    def _route(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        if method == "POST" and path == "/v1/checkout/sessions":
            return 200, self._create_session(params)
        match = re.fullmatch(r"/v1/checkout/sessions/([^/]+)(/expire)?", path)
        if match:
            session = self.sessions.get(match.group(1))
            if session is None:
                return 404, _error("invalid_request_error", "No such checkout.session", code="resource_missing")
            if method == "GET" and not match.group(2):
                return 200, session
            if method == "POST" and match.group(2):
                if session["status"] != "open":
                    return 400, _error(
                        "invalid_request_error",
                        'Only Checkout Sessions with a status in ["open"] can be expired.',
                        code="checkout_session_not_open",
                    )
                session["status"] = "expired"
                return 200, session
        if method == "POST" and path == "/v1/refunds":
            refund_id = f"re_standin_{next(self._ids)}"
            refund = {
                "id": refund_id,
                "object": "refund",
                "amount": int(params["amount"]),
                "payment_intent": params.get("payment_intent"),
                "metadata": params.get("metadata", {}),
                "status": "succeeded",
            }
            self.refunds[refund_id] = refund
            return 200, refund
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def _create_session(self, params: dict) -> dict:
        session_id = f"cs_test_standin_{next(self._ids)}"
        total = sum(
            int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1))
            for item in params.get("line_items", [])
        )
        currency = params["line_items"][0]["price_data"]["currency"] if params.get("line_items") else "gbp"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "status": "open",
            "payment_status": "unpaid",
            "mode": params.get("mode"),
            "amount_total": total,
            "currency": currency,
            "client_reference_id": params.get("client_reference_id"),
            "customer_email": params.get("customer_email"),
            "metadata": params.get("metadata", {}),
            "expires_at": int(params["expires_at"]) if params.get("expires_at") else None,
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "payment_intent": None,
        }
        self.sessions[session_id] = session
        return session

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Request-Id", "req_standin")
        handler.end_headers()
        handler.wfile.write(body)


def _error(kind: str, message: str, *, code: str | None = None) -> dict:
    error = {"type": kind, "message": message}
    if code:
        error["code"] = code
    return {"error": error}


# --- pytest fixture and helpers for tests that pay ----------------------------------------------------


@contextmanager
def use_stripe_standin(settings):
    """Real Stripe mode (a secret key is set) with the SDK pointed at a local stand-in.

    Tests ask for the `stripe_standin` fixture (coaching/tests/conftest.py); use this directly only
    to switch real Stripe mode on for part of a test.
    """
    standin = StripeStandIn().start()
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_API_BASE = standin.url
    settings.STRIPE_TIMEOUT_SECONDS = 1
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    try:
        yield standin
    finally:
        standin.stop()


def session_event(
    booking,
    *,
    event_type: str = "checkout.session.completed",
    payment_status: str = "paid",
    event_id: str | None = None,
    payment_intent: str = "pi_test_1",
    amount_total: int | None = None,
) -> dict:
    """A `checkout.session.*` event shaped as Stripe sends it, for `booking`'s session."""
    return {
        "id": event_id or f"evt_{next(_event_ids)}",
        "object": "event",
        "type": event_type,
        "created": 1_900_000_000,
        "livemode": False,
        "data": {
            "object": {
                "id": booking.stripe_checkout_session_id,
                "object": "checkout.session",
                "client_reference_id": booking.reference,
                "metadata": {"booking_reference": booking.reference},
                "amount_total": booking.amount_due if amount_total is None else amount_total,
                "currency": booking.currency.lower(),
                "status": "expired" if event_type.endswith("expired") else "complete",
                "payment_status": payment_status,
                "payment_intent": payment_intent if payment_status == "paid" else None,
            }
        },
    }


_event_ids = itertools.count(1)


def package_event(
    order,
    *,
    payment_intent: str = "pi_package_1",
    session_id: str | None = None,
    **kwargs,
) -> dict:
    """A `checkout.session.*` event for a package order's checkout (metadata purpose=package); the
    same keywords as `session_event`, and `session_id` for a session that is not the order's."""
    event = session_event(order, payment_intent=payment_intent, **kwargs)
    session = event["data"]["object"]
    session["metadata"] = {"purpose": "package", "package_order": order.reference}
    if session_id:
        session["id"] = session_id
    return event


def post_signed(client, payload: str, *, secret: str = "whsec_test_secret", timestamp: int | None = None):
    """POST `payload` to the webhook with a valid Stripe-Signature (Stripe's own signing scheme)."""
    import stripe

    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
    return client.post("/stripe/webhook/", data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


def pay(client, booking, **kwargs):
    """Deliver a signed checkout.session.completed (or `event_type=...`) for `booking` to the webhook."""
    return post_signed(client, json.dumps(session_event(booking, **kwargs)))
