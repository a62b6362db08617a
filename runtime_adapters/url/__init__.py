"""The `url` runtime: endpoints that run elsewhere (Kubernetes Services, an existing
fleet), health-checked, ejected while they fail, and balanced by least outstanding
requests."""
