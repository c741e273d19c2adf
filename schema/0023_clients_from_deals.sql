-- A client made from a won deal remembers the CRM account (or, for a deal without
-- one, the deal) it came from: a second won deal of the account links the same
-- client, and a redelivered event finds the client it made the first time.
ALTER TABLE clients_clients ADD COLUMN crm_account_id TEXT;
ALTER TABLE clients_clients ADD COLUMN crm_deal_id TEXT;
CREATE UNIQUE INDEX clients_clients_account ON clients_clients (firm_id, crm_account_id)
  WHERE crm_account_id IS NOT NULL;
CREATE UNIQUE INDEX clients_clients_deal ON clients_clients (firm_id, crm_deal_id)
  WHERE crm_deal_id IS NOT NULL;
