"""Enrichment: taxonomies and clusters written into documents, alerts on new documents, webhooks."""
