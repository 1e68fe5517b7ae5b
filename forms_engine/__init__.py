"""Forms engine: field types, form specs, validation, records, pages, import/export."""
