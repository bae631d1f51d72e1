"""HTTP routes of the v1 API, one module per resource: namespaces, buckets, objects, batches (and tasks),
collections (and their documents), retrievers, taxonomies, clusters, alerts and webhooks, discovery."""
