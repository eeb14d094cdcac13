-- A connector's field mapping: a JSON object of hub field -> CRM field name, for the
-- fields whose CRM names differ (NULL: every field has its hub name in the CRM).

ALTER TABLE hub_connectors ADD COLUMN field_map TEXT;
