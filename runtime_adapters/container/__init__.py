"""The `container` runtime: any command serving HTTP on $PORT, in warm pools of
bubblewrap-sandboxed instances, on the host's system directories or an OCI image."""
