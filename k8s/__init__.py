"""`gaia k8s render`: Kubernetes manifests for revisions and for the gateway in front of
them, as pure functions from revision data to manifest dicts.

- `model`: what a render starts from (revisions, images, options);
- `names`: object names, labels and annotations;
- `quantities`: sizes and times in the spellings Kubernetes and HAProxy read;
- `configmap`, `service`, `deployment`: one builder per manifest kind;
- `capture`, `logs`, `metrics`: the composite pod's log capture and its two sidecars;
- `pod`: a revision's composite pod; `revision`: a revision's objects;
- `gateway`: the gateway's own objects and its gaia.yaml (reusable with other replicas
  and environment, e.g. a shared store);
- `images`: which image a function container runs; `selection`: which revisions a
  command line names; `render`: all of it for one run; `dump` and `output`: YAML text and
  the atomic write of the files.
"""
