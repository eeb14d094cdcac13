-- Each org's switches for the password login flows Salesforce is retiring: SOAP API
-- login() and the OAuth username-password flow. Open by default (existing
-- integrations keep working); an administrator closes one to rehearse the retirement.

ALTER TABLE orgs ADD COLUMN soap_login BIGINT NOT NULL DEFAULT 1;
ALTER TABLE orgs ADD COLUMN oauth_username_password BIGINT NOT NULL DEFAULT 1;
