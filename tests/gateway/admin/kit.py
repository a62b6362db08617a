"""The admin app over a control plane, as the gateway builds it, for tests in-process."""

from __future__ import annotations

from starlette.types import ASGIApp

from gateway.admin.app import build_admin_app
from gateway.admin.routes import AdminRoutes
from gateway.cluster import Follower
from gateway.control import ControlPlane
from gateway.invoker import Invoker
from gateway.metrics import Metrics
from gateway.subscriptions import Subscriptions
from gateway.ui.dashboard import Dashboard


def admin_app(control: ControlPlane, *, token: str, dashboard: Dashboard | None = None) -> ASGIApp:
    metrics = Metrics()
    invoker = Invoker(control=control, metrics=metrics)
    routes = AdminRoutes(
        control=control,
        invoker=invoker,
        metrics=metrics,
        subscriptions=Subscriptions(invoker=invoker, drain_timeout_s=1, replica="r"),
        data_plane_url="http://127.0.0.1:8080",
        started_at=0.0,
        store_status=Follower(control).status,
        dashboard=dashboard,
    )
    return build_admin_app(routes, token=token)
