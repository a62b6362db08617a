"""Taking an old API's routes over, one at a time, on evidence (gaia.yaml `legacy:`).

The gateway fronts the old API: a request no function route matches is proxied to it
(`legacy.proxy`). The ledger (`legacy.ledger`) gives each old route a state, from
`legacy` through `shadow` and `canary` to `function` and `retired`; the router
(`legacy.router`) serves each state, and the evidence (`legacy.evidence`) it gathers
is what the promotion gates judge. `legacy.ports` holds the seams between those parts.
"""
