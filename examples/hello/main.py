"""The smallest gaia function: GET /hello/{name} -> {"message": "hello, {name}"}."""


def handler(event, context):
    name = event.params.get("name") or event.query.get("name") or "world"
    return {"message": f"hello, {name}"}
