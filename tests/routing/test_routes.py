"""The HTTP route table: patterns, methods, hosts, precedence and conflicts."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from routing.errors import InvalidSpec, RouteConflict
from routing.names import Target
from routing.routes import HttpRoute, MethodNotAllowed, RouteMatch, RouteTable, parse_pattern


def route(
    path: str,
    methods: Iterable[str] | None = None,
    *,
    host: str | None = None,
    trigger_id: str | None = None,
) -> HttpRoute:
    return HttpRoute(
        path=path,
        methods=frozenset(methods) if methods is not None else None,
        host=host,
        target=Target(function="hello", alias="prod"),
        trigger_id=trigger_id or f"{host or ''}{path}",
    )


def matched(
    table: RouteTable, method: str, path: str, host: str | None = None
) -> tuple[str, dict[str, str]]:
    """The trigger id and params that serve the request; fails the test on no match."""
    found = table.match(method, path, host)
    assert isinstance(found, RouteMatch), f"{method} {path} gave {found}"
    return found.route.trigger_id, found.params


# --- parameters ---------------------------------------------------------------------------


def test_a_parameter_takes_one_segment() -> None:
    table = RouteTable([route("/hello/{name}")])
    assert matched(table, "GET", "/hello/bob") == ("/hello/{name}", {"name": "bob"})
    assert matched(table, "GET", "/hello/a b") == ("/hello/{name}", {"name": "a b"})
    assert table.match("GET", "/hello/bob/more", None) is None
    assert table.match("GET", "/hello/", None) is None
    assert table.match("GET", "/hello", None) is None


def test_several_parameters() -> None:
    table = RouteTable([route("/users/{user}/posts/{post_id}")])
    assert matched(table, "GET", "/users/7/posts/42")[1] == {"user": "7", "post_id": "42"}


def test_a_path_parameter_takes_the_rest_of_the_path_but_never_nothing() -> None:
    table = RouteTable([route("/files/{rest:path}")])
    assert matched(table, "GET", "/files/a/b/c.txt")[1] == {"rest": "a/b/c.txt"}
    assert matched(table, "GET", "/files/x")[1] == {"rest": "x"}
    assert matched(table, "GET", "/files/a/")[1] == {"rest": "a/"}
    assert table.match("GET", "/files/", None) is None
    assert table.match("GET", "/files", None) is None


def test_explicit_str_converter_is_one_segment() -> None:
    table = RouteTable([route("/items/{id:str}")])
    assert matched(table, "GET", "/items/9")[1] == {"id": "9"}
    assert table.match("GET", "/items/9/x", None) is None


def test_literal_segments_are_exact() -> None:
    table = RouteTable([route("/v1.0/items"), route("/")])
    assert matched(table, "GET", "/v1.0/items")[0] == "/v1.0/items"
    assert table.match("GET", "/v1x0/items", None) is None  # the dot is not a wildcard
    assert table.match("GET", "/V1.0/items", None) is None  # paths are case-sensitive
    assert matched(table, "GET", "/")[0] == "/"


def test_a_trailing_slash_is_a_different_path() -> None:
    table = RouteTable([route("/a", trigger_id="no-slash"), route("/a/", trigger_id="slash")])
    assert matched(table, "GET", "/a")[0] == "no-slash"
    assert matched(table, "GET", "/a/")[0] == "slash"


def test_every_match_gets_its_own_params_dict() -> None:
    table = RouteTable([route("/health"), route("/hello/{name}")])
    for path in ("/health", "/hello/bob"):
        first = table.match("GET", path, None)
        assert isinstance(first, RouteMatch)
        first.params["injected"] = "x"
        second = table.match("GET", path, None)
        assert isinstance(second, RouteMatch)
        assert "injected" not in second.params


# --- methods ------------------------------------------------------------------------------


def test_methods_are_stored_uppercase() -> None:
    assert route("/a", ["get", "Post"]).methods == frozenset({"GET", "POST"})


def test_a_known_path_with_another_method_is_405_with_the_allowed_methods() -> None:
    table = RouteTable(
        [route("/orders", ["GET", "POST"]), route("/orders/{id}", ["DELETE"]), route("/ping")]
    )
    assert matched(table, "POST", "/orders")[0] == "/orders"
    assert table.match("PUT", "/orders", None) == MethodNotAllowed(
        allowed=frozenset({"GET", "HEAD", "POST"})
    )
    assert table.match("GET", "/orders/1", None) == MethodNotAllowed(allowed=frozenset({"DELETE"}))
    assert table.match("PUT", "/nowhere", None) is None
    assert matched(table, "PATCH", "/ping")[0] == "/ping"  # no methods: any method


def test_allowed_methods_gather_every_route_with_the_path() -> None:
    table = RouteTable(
        [
            route("/users/me", ["GET"]),
            route("/users/{id}", ["PUT"]),
            route("/users/{rest:path}", ["POST"]),
            route("/users/me", ["PATCH"], host="api.example.com"),
        ]
    )
    assert table.match("DELETE", "/users/me", "api.example.com") == MethodNotAllowed(
        allowed=frozenset({"GET", "HEAD", "PUT", "POST", "PATCH"})
    )
    assert table.match("DELETE", "/users/me", None) == MethodNotAllowed(
        allowed=frozenset({"GET", "HEAD", "PUT", "POST"})
    )


def test_head_is_served_by_a_get_route() -> None:
    table = RouteTable([route("/page", ["GET"]), route("/items/{id}", ["GET"])])
    assert matched(table, "HEAD", "/page")[0] == "/page"
    assert matched(table, "HEAD", "/items/3") == ("/items/{id}", {"id": "3"})


def test_a_route_for_head_itself_wins_over_the_get_route() -> None:
    for routes in (
        [route("/page", ["GET"], trigger_id="get"), route("/page", ["HEAD"], trigger_id="head")],
        [route("/page", ["HEAD"], trigger_id="head"), route("/page", ["GET"], trigger_id="get")],
        [route("/p/{x}", ["GET"], trigger_id="get"), route("/p/{y}", ["HEAD"], trigger_id="head")],
    ):
        table = RouteTable(routes)
        path = "/page" if routes[0].path == "/page" else "/p/1"
        assert matched(table, "HEAD", path)[0] == "head"
        assert matched(table, "GET", path)[0] == "get"


def test_a_path_matching_but_not_for_the_method_keeps_looking() -> None:
    # As in Starlette: the static /users/me only takes GET, so DELETE goes on to the pattern.
    table = RouteTable([route("/users/me", ["GET"]), route("/users/{id}", ["DELETE"])])
    assert matched(table, "GET", "/users/me")[0] == "/users/me"
    assert matched(table, "DELETE", "/users/me") == ("/users/{id}", {"id": "me"})


# --- hosts --------------------------------------------------------------------------------


def test_routes_for_the_request_host_come_first() -> None:
    table = RouteTable(
        [
            route("/hello", trigger_id="any-host"),
            route("/hello", host="api.example.com", trigger_id="api"),
        ]
    )
    assert matched(table, "GET", "/hello", "api.example.com")[0] == "api"
    assert matched(table, "GET", "/hello", "www.example.com")[0] == "any-host"
    assert matched(table, "GET", "/hello", None)[0] == "any-host"


def test_hosts_compare_without_case_port_or_trailing_dot() -> None:
    table = RouteTable([route("/hello", host="API.Example.com:443", trigger_id="api")])
    assert table.routes[0].host == "api.example.com"
    for host in ("api.example.com", "API.EXAMPLE.COM:8080", "api.example.com."):
        assert matched(table, "GET", "/hello", host)[0] == "api"
    assert table.match("GET", "/hello", "example.com") is None


def test_ipv6_hosts_keep_their_colons() -> None:
    table = RouteTable([route("/hello", host="[::1]", trigger_id="v6")])
    assert matched(table, "GET", "/hello", "[::1]:8080")[0] == "v6"
    assert matched(table, "GET", "/hello", "[::1]")[0] == "v6"


def test_a_host_route_pattern_wins_over_a_host_less_static_route() -> None:
    table = RouteTable(
        [
            route("/status", trigger_id="static-any-host"),
            route("/{page}", host="docs.example.com", trigger_id="docs"),
        ]
    )
    assert matched(table, "GET", "/status", "docs.example.com") == ("docs", {"page": "status"})


def test_a_host_route_without_the_method_falls_back_to_host_less_routes() -> None:
    table = RouteTable(
        [
            route("/hello", ["GET"], host="api.example.com", trigger_id="api"),
            route("/hello", ["POST"], trigger_id="any-host"),
        ]
    )
    assert matched(table, "POST", "/hello", "api.example.com")[0] == "any-host"


# --- precedence ---------------------------------------------------------------------------

PRECEDENCE = [
    route("/users/me", trigger_id="static"),
    route("/users/{id}/posts", trigger_id="two-literals"),
    route("/users/{id}/{tab}", trigger_id="one-literal"),
    route("/users/{id}", trigger_id="segment"),
    route("/users/{rest:path}", trigger_id="rest"),
    route("/{section}/{id}/posts", trigger_id="one-literal-later"),
    route("/{rest:path}", trigger_id="catch-all"),
]


@pytest.mark.parametrize("order", ["as-written", "reversed"])
@pytest.mark.parametrize(
    ("path", "trigger_id"),
    [
        ("/users/me", "static"),
        ("/users/7", "segment"),
        ("/users/7/posts", "two-literals"),
        ("/users/7/likes", "one-literal"),
        ("/users/7/likes/recent", "rest"),
        ("/teams/7/posts", "one-literal-later"),
        ("/teams/7", "catch-all"),
        ("/", None),
    ],
)
def test_the_most_specific_route_wins_whatever_the_order(
    order: str, path: str, trigger_id: str | None
) -> None:
    routes = PRECEDENCE if order == "as-written" else PRECEDENCE[::-1]
    found = RouteTable(routes).match("GET", path, None)
    assert (found.route.trigger_id if isinstance(found, RouteMatch) else None) == trigger_id


def test_a_literal_further_left_wins_between_equally_literal_patterns() -> None:
    table = RouteTable([route("/{x}/b", trigger_id="right"), route("/a/{y}", trigger_id="left")])
    assert matched(table, "GET", "/a/b") == ("left", {"y": "b"})


def test_many_patterns_each_find_their_own_route() -> None:
    routes = [route(f"/svc{i}/{{id}}/items", ["GET"], trigger_id=f"svc{i}") for i in range(300)]
    table = RouteTable([*routes, route("/{svc}/{id}/other", ["GET"], trigger_id="other")])
    for i in (0, 1, 150, 299):
        assert matched(table, "GET", f"/svc{i}/x/items") == (f"svc{i}", {"id": "x"})
    assert matched(table, "GET", "/svc7/x/other") == ("other", {"svc": "svc7", "id": "x"})
    assert table.match("GET", "/svc300/x/items", None) is None


# --- conflicts ----------------------------------------------------------------------------


def test_same_shape_and_overlapping_methods_conflict_naming_both_routes() -> None:
    with pytest.raises(RouteConflict) as caught:
        RouteTable(
            [
                route("/hello/{name}", ["GET", "POST"], trigger_id="first"),
                route("/hello/{who}", ["post", "PUT"], trigger_id="second"),
            ]
        )
    message = str(caught.value)
    assert "first" in message and "/hello/{name}" in message
    assert "second" in message and "/hello/{who}" in message
    assert "POST" in message


@pytest.mark.parametrize(
    "routes",
    [
        pytest.param([route("/a", trigger_id="x"), route("/a", ["GET"], trigger_id="y")], id="any"),
        pytest.param(
            [
                route("/a", host="API.example.com", trigger_id="x"),
                route("/a", host="api.example.com:8080", trigger_id="y"),
            ],
            id="same-host-spelled-differently",
        ),
        pytest.param(
            [route("/f/{a:path}", trigger_id="x"), route("/f/{b:path}", trigger_id="y")],
            id="path-params",
        ),
    ],
)
def test_conflicts(routes: list[HttpRoute]) -> None:
    # The route added later is the one reported first: it is the one that does not fit.
    with pytest.raises(RouteConflict, match=r"^route y \(.*\) conflicts with route x \("):
        RouteTable(routes)


@pytest.mark.parametrize(
    "routes",
    [
        pytest.param([route("/a", ["GET"]), route("/a", ["POST"])], id="disjoint-methods"),
        pytest.param([route("/a"), route("/a", host="api.example.com")], id="host-vs-any"),
        pytest.param(
            [route("/a", host="one.example.com"), route("/a", host="two.example.com")],
            id="different-hosts",
        ),
        pytest.param([route("/a/{x}"), route("/a/{x:path}")], id="segment-vs-rest"),
        pytest.param([route("/a/{x}"), route("/a/b")], id="pattern-vs-static"),
    ],
)
def test_not_conflicts(routes: list[HttpRoute]) -> None:
    assert len(RouteTable(routes).routes) == 2


# --- invalid definitions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("hello/{name}", "start with '/'"),
        ("", "start with '/'"),
        ("/a/{b", "unbalanced braces"),
        ("/a/b}", "unbalanced braces"),
        ("/a/{{b}}", "unbalanced braces"),
        ("/a/{x}/{x}", "'x' appears twice"),
        ("/{rest:path}/x", "must be the last segment"),
        ("/{id:int}", "unknown converter 'int'"),
        ("/{1x}", "not an identifier"),
        ("/{}", "not an identifier"),
        ("/a{b}", "whole segment"),
        ("/{a}{b}", "whole segment"),
        ("/a//b", "empty segment"),
        ("/a?x=1", "no query string"),
    ],
)
def test_invalid_patterns_say_what_is_wrong(pattern: str, problem: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        route(pattern)
    assert caught.value.path == "path"
    assert problem in caught.value.message
    assert repr(pattern) in caught.value.message


def test_parse_pattern_reports_at_the_given_path() -> None:
    with pytest.raises(InvalidSpec) as caught:
        parse_pattern("nope", path="functions.hello.triggers[0].http.path")
    assert caught.value.path == "functions.hello.triggers[0].http.path"


@pytest.mark.parametrize(
    ("methods", "problem"),
    [("GET", "expected a list"), ([], "no methods"), (["GE T"], "invalid method")],
)
def test_invalid_methods(methods: object, problem: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        HttpRoute(
            path="/a",
            methods=methods,  # type: ignore[arg-type]
            target=Target(function="hello"),
            trigger_id="t",
        )
    assert caught.value.path == "methods"
    assert problem in caught.value.message


@pytest.mark.parametrize("host", ["*.example.com", "", "exa mple.com", "http://example.com"])
def test_invalid_hosts(host: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        route("/a", host=host)
    assert caught.value.path == "host"


# --- remembered lookups -----------------------------------------------------------------


def test_lookup_answers_as_route_for_for_every_request_again_and_again() -> None:
    table = RouteTable(
        [
            route("/users/{id}", ["GET"]),
            route("/users/me", ["GET", "POST"]),
            route("/files/{rest:path}"),
            route("/users/{id}", ["GET"], host="api.example.com"),
        ]
    )
    requests = [
        ("GET", "/users/7", None),
        ("GET", "/users/7", "api.example.com"),
        ("GET", "/users/7", "API.example.com:80"),
        ("POST", "/users/me", None),
        ("DELETE", "/users/me", None),
        ("PUT", "/files/a/b", "other"),
        ("GET", "/nothing", None),
    ]
    for _ in range(3):  # the first round finds, the next ones remember
        for method, path, host in requests:
            expected = table.route_for(method, path, host)
            found = table.lookup(method, path, host)
            if expected is None:
                assert found is None, (method, path, host)
            else:
                assert found == (expected.route, expected.params), (method, path, host)


def test_lookup_remembers_a_bounded_number_of_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("routing.routes.LOOKUPS_REMEMBERED", 8)
    table = RouteTable([route("/users/{id}", ["GET"])])
    for n in range(100):
        found = table.lookup("GET", f"/users/{n}", None)
        assert found is not None and found[1] == {"id": str(n)}
        assert len(table._looked_up) <= 8
