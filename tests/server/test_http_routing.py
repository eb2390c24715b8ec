"""Route resolution: static before parameterised, method fallthrough, 405 vs 404."""

from __future__ import annotations

from seamless.server.http import Router


def names(router, method, path):
    match = router.resolve(method, path, path[1:].split("/"))
    return (match.route.handler if match.route else None), match.params, match.allowed


def make():
    router = Router()
    router.add("GET", "/has", "has")
    router.add("GET", "/{checksum}", "get")
    router.add("PUT", "/{checksum}", "put")
    router.add("PUT", "/promise/{checksum}", "promise")
    return router


def test_static_first_then_pattern():
    router = make()
    assert names(router, "GET", "/has") == ("has", {}, ())
    assert names(router, "GET", "/abc") == ("get", {"checksum": "abc"}, ())
    assert names(router, "HEAD", "/abc")[0] == "get"
    # A method the static route lacks falls through to the pattern, as in the reference.
    assert names(router, "PUT", "/has") == ("put", {"checksum": "has"}, ())
    assert names(router, "PUT", "/promise/x") == ("promise", {"checksum": "x"}, ())


def test_405_and_404():
    router = make()
    assert names(router, "POST", "/abc") == (None, {}, ("GET", "PUT"))
    assert names(router, "GET", "/promise/x") == (None, {}, ("PUT",))
    assert names(router, "GET", "/a/b/c") == (None, {}, ())
    assert names(router, "GET", "/") == (None, {}, ())  # an empty parameter matches nothing


def test_catch_all():
    router = Router()
    router.add("GET", "/healthcheck", "health")
    router.add("GET", "/{tail:*}", "any")
    assert names(router, "GET", "/healthcheck")[0] == "health"
    assert names(router, "GET", "/")[:2] == ("any", {"tail": ""})
    assert names(router, "GET", "/x/y")[:2] == ("any", {"tail": "x/y"})
